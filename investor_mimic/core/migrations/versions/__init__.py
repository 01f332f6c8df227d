"""The warehouse's migrations, one file per revision, oldest first (``v0001_...``)."""
