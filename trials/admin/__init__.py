"""The curator admin: a study and all its rows on one page, vocabularies behind autocomplete.

Saving goes through the study services (trials.services): the admin builds the study's document from
its forms (`forms.admin_document`) and hands it over, as the API and imports do.
"""

from . import ctgov, study, vocabularies

__all__ = ["ctgov", "study", "vocabularies"]
