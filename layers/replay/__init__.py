"""The replay layer: a time window's crews, jobs, issues and alarms as they were at T."""
