"""setuptools shim for `scrapyd-deploy`, which builds the scrapyd egg with `python setup.py bdist_egg`.

Everything (metadata, packages, package data, the `scrapy` settings entry point scrapyd reads) is declared in
pyproject.toml; without this file scrapyd-deploy would write a setup.py of its own that packages nothing right.
"""

from setuptools import setup

setup()
