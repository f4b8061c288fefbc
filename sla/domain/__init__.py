"""Pure SLA code: the incident lifecycle, the production calendar and working time, policies and
deadlines, the indicator arithmetic and the plan/fact report. No I/O, no clock: time and text
come in as arguments (tests/unit/test_architecture.py checks this folder)."""
