"""Web pages as documents (/pdf): a headless browser whose every connection the URL guard vets.

Knows nothing of Telegram or of jobs: it turns a URL into a file on disk (a PDF, or a PNG of
the page when printing fails) within a deadline, and stops the browser's work when told to.
"""
