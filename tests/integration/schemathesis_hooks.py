"""schemathesis hooks for tests/integration/test_api_schema.py (loaded by its process through
SCHEMATHESIS_HOOKS): a random incident id finds nothing, so half the generated paths name one of
the seeded incidents (OTKLIK_TEST_INCIDENT_IDS), and the actions reach the database with the
generated bodies."""

import os
from typing import Any

import schemathesis
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

IDS = [item for item in os.environ.get("OTKLIK_TEST_INCIDENT_IDS", "").split(",") if item]


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> SearchStrategy[Any]:
    if not path_parameters or "incident_id" not in path_parameters or not IDS:
        return st.just(path_parameters)
    seeded = [{**path_parameters, "incident_id": incident_id} for incident_id in IDS]
    return st.sampled_from([path_parameters, *seeded])
