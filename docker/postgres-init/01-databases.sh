#!/usr/bin/env bash
# Runs once, when the postgres volume is empty (official postgres image, /docker-entrypoint-initdb.d).
# Creates the Airflow metadata database and the Seam warehouse, each owned by its own login role.
# Passwords come from the postgres service's environment (see docker-compose.yml and .env.example).
# The entrypoint sources this file when it is not executable, so no `set -u` here; the checks are explicit.
set -e

: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set (copy .env.example to .env)}"
: "${WAREHOUSE_DB_PASSWORD:?WAREHOUSE_DB_PASSWORD is not set (copy .env.example to .env)}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" \
    -v warehouse_password="$WAREHOUSE_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;

CREATE ROLE seam LOGIN PASSWORD :'warehouse_password';
CREATE DATABASE warehouse OWNER seam;
SQL
