"""The public pages (`public`, `versions`), health probes (`health`) and the site's error responses (`errors`)."""
