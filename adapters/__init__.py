"""The outside systems a case talks to — inventory, provisioning and deprovisioning, the network,
billing: each one's interface (a Protocol), its default adapter that simulates it on tables of our
own database (so the demo and the tests run against real state), those tables and their seed data.
An operator puts its real systems behind the same interfaces; activities/ call them."""
