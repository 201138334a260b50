"""Alembic environment: runs against the engine handed over by include.warehouse.migrate."""

from alembic import context

from include.warehouse.schema import metadata


def include_name(name, type_, _parent_names) -> bool:
    """Staging tables (stg_<source>__<stream>) are derived from the mappings at run time, not migrated."""
    return not (type_ == "table" and name and name.startswith("stg_") and name not in metadata.tables)


engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
