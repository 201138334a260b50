"""Identity resolution: people and companies into stable, explainable golden records.

Entry points: include.identity.resolve.resolve (the pipeline stage), include.identity.commands
(`seam identity …`), include.identity.file_resolver (`seam resolve`). Nothing is imported here,
so `seam --help` does not pay for pandas and Splink.
"""
