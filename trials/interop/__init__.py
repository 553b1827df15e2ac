"""The registry in other registries' and standards' formats: FHIR R5 (`fhir`), WHO TRDS as ICTRP-style XML
(`trds`), bulk JSON Lines (`jsonl`), and ClinicalTrials.gov API v2 records read into study documents (`ctgov`).

Every format is built from the study document (`trials.documents`), never from a field list of its own:
what the API serves is what these formats carry, in their vocabularies.
"""
