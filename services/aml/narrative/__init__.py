"""SAR narratives of a case: the fact sheet (`facts`), the draft a core writes from it
(`draft`) and the check of every number and date against it (`check`)."""
