"""What the operator offers and what an application may need: the service types and the kinds of
supporting document. Shared by the application contract, the policy and the termination contract."""

from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    mobile = "mobile"
    fixed_line = "fixed_line"
    broadband = "broadband"
    iot = "iot"
    cloud = "cloud"


class MaterialKind(StrEnum):
    """Documents an application may need besides the verified ID (guide 2.2 completeness check):
    application_form 入网申请表 / 业务登记单, service_agreement 入网协议 (signed), address_proof
    装机地址证明 (property certificate or lease), proxy_authorization 授权委托书, business_license
    营业执照, usage_statement 物联网卡用途说明, security_commitment 网络与信息安全承诺书."""

    application_form = "application_form"
    service_agreement = "service_agreement"
    address_proof = "address_proof"
    proxy_authorization = "proxy_authorization"
    business_license = "business_license"
    usage_statement = "usage_statement"
    security_commitment = "security_commitment"
