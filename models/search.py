"""Custom search attributes on every case (prefixed: they share a namespace with other teams)."""

from temporalio.common import SearchAttributeKey

CASE_TYPE = SearchAttributeKey.for_keyword("TelecomCaseType")
STATE = SearchAttributeKey.for_keyword("TelecomCaseState")
REGION = SearchAttributeKey.for_keyword("TelecomRegion")
SEVERITY = SearchAttributeKey.for_keyword("TelecomSeverity")
ASSIGNEE = SearchAttributeKey.for_keyword("TelecomAssignee")
NEXT_DUE = SearchAttributeKey.for_datetime("TelecomNextDue")
SLA_BREACHED = SearchAttributeKey.for_bool("TelecomSlaBreached")
CUSTOMER_REF = SearchAttributeKey.for_keyword("TelecomCustomerRef")

ALL = (CASE_TYPE, STATE, REGION, SEVERITY, ASSIGNEE, NEXT_DUE, SLA_BREACHED, CUSTOMER_REF)
