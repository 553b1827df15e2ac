"""Writes that touch several rows, each a small typed function named `<entity>_<action>`:
`studies` (create, update, import, delete), `workflow` (submit ... retract, revisions, versions) and
`accessions`. The admin, the API and the management commands all call these; nothing saves around them."""
