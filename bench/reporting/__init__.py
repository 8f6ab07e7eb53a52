"""bench/report.py's parts: stats (percentiles, units, sequential round
trips), measure (raw samples to measurements), targets (what is met,
missed or retired), why (what a miss means), sections (the report's
Markdown), chart and readme."""
