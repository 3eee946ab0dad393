"""Beyond the papers: the four studies' measures side by side per (scale, task), the papers'
headline claims turned into computed verdicts, and the tables rendered for the HTML report."""
