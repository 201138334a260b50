"""The SuiteCRM-shaped legacy CRM database (SQLite by default, MariaDB/PostgreSQL by URL).

The date_modified indexes (and email_addr_bean_rel's bean_id/email_address_id ones) are those the
connector's keyset paging relies on; a real SuiteCRM needs the same. Accounts are contacts'
companies plus prospects with no contact, some soft-deleted; their extra columns come from a
separate random stream so that contacts and emails stay identical for a given seed.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sandbox import names, variation
from sandbox.population import ANCHOR, Person, make_company, ru_mobile, us_phone

metadata = sa.MetaData()
ID = sa.CHAR(36)
contacts = sa.Table(
    "contacts", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("date_entered", sa.DateTime),
    sa.Column("date_modified", sa.DateTime, index=True), sa.Column("modified_user_id", ID),
    sa.Column("created_by", ID), sa.Column("deleted", sa.SmallInteger, nullable=False, default=0),
    sa.Column("salutation", sa.String(255)), sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)), sa.Column("title", sa.String(100)),
    sa.Column("department", sa.String(255)), sa.Column("birthdate", sa.Date),
    sa.Column("phone_home", sa.String(100)), sa.Column("phone_mobile", sa.String(100)),
    sa.Column("phone_work", sa.String(100)), sa.Column("phone_other", sa.String(100)),
    sa.Column("phone_fax", sa.String(100)), sa.Column("primary_address_street", sa.String(150)),
    sa.Column("primary_address_city", sa.String(100)), sa.Column("primary_address_state", sa.String(100)),
    sa.Column("primary_address_postalcode", sa.String(20)), sa.Column("primary_address_country", sa.String(255)),
    sa.Column("lead_source", sa.String(255)), sa.Column("description", sa.Text),
)
accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("name", sa.String(150)),
    sa.Column("date_entered", sa.DateTime), sa.Column("date_modified", sa.DateTime),
    sa.Column("modified_user_id", ID), sa.Column("created_by", ID), sa.Column("description", sa.Text),
    sa.Column("deleted", sa.SmallInteger, nullable=False, default=0), sa.Column("assigned_user_id", ID),
    sa.Column("account_type", sa.String(50)), sa.Column("industry", sa.String(50)),
    sa.Column("annual_revenue", sa.String(100)), sa.Column("phone_fax", sa.String(100)),
    sa.Column("billing_address_street", sa.String(150)), sa.Column("billing_address_city", sa.String(100)),
    sa.Column("billing_address_state", sa.String(100)), sa.Column("billing_address_postalcode", sa.String(20)),
    sa.Column("billing_address_country", sa.String(255)), sa.Column("rating", sa.String(100)),
    sa.Column("phone_office", sa.String(100)), sa.Column("phone_alternate", sa.String(100)),
    sa.Column("website", sa.String(255)), sa.Column("ownership", sa.String(100)),
    sa.Column("employees", sa.String(10)), sa.Column("ticker_symbol", sa.String(10)),
    sa.Column("shipping_address_street", sa.String(150)), sa.Column("shipping_address_city", sa.String(100)),
    sa.Column("shipping_address_state", sa.String(100)), sa.Column("shipping_address_postalcode", sa.String(20)),
    sa.Column("shipping_address_country", sa.String(255)), sa.Column("parent_id", ID),
    sa.Column("sic_code", sa.String(10)),
    # the connector's incremental accounts read is a keyset on (date_modified, id)
    sa.Index("idx_accounts_date_modified_id", "date_modified", "id"),
)
accounts_contacts = sa.Table(
    "accounts_contacts", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("contact_id", ID, index=True),
    sa.Column("account_id", ID, index=True), sa.Column("date_modified", sa.DateTime),
    sa.Column("deleted", sa.SmallInteger, nullable=False, default=0),
)
email_addresses = sa.Table(
    "email_addresses", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("email_address", sa.String(255)),
    sa.Column("email_address_caps", sa.String(255), index=True),
    sa.Column("invalid_email", sa.SmallInteger, default=0), sa.Column("opt_out", sa.SmallInteger, default=0),
    sa.Column("date_created", sa.DateTime), sa.Column("date_modified", sa.DateTime, index=True),
    sa.Column("deleted", sa.SmallInteger, nullable=False, default=0),
)
email_addr_bean_rel = sa.Table(
    "email_addr_bean_rel", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("email_address_id", ID, index=True),
    sa.Column("bean_id", ID, index=True), sa.Column("bean_module", sa.String(100)),
    sa.Column("primary_address", sa.SmallInteger, default=0), sa.Column("reply_to_address", sa.SmallInteger, default=0),
    sa.Column("date_created", sa.DateTime), sa.Column("date_modified", sa.DateTime, index=True),
    sa.Column("deleted", sa.SmallInteger, nullable=False, default=0),
)
COUNTRIES = {"RU": ["Россия", "Russia", "RU", "Российская Федерация"], "US": ["USA", "United States", "US"]}
INDUSTRIES = ["Apparel", "Banking", "Construction", "Consulting", "Education", "Energy", "Healthcare",
              "Manufacturing", "Retail", "Technology", "Transportation"]
PROSPECT_TYPES = ["Prospect", "Prospect", "Prospect", "Partner", "Reseller", "Competitor", "Analyst"]
PROSPECT_SHARE = 0.5  # prospect accounts (no contact) per contact generated
PROSPECT_DELETED = 0.15  # of prospects, soft-deleted (merged duplicates, disqualified)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _derived_rng(rng: random.Random, label: str) -> random.Random:
    """An independent stream seeded from rng's state without drawing from rng (its sequence is unchanged)."""
    digest = hashlib.sha256(repr(rng.getstate()).encode() + label.encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


class CrmBuilder:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in metadata.tables}
        self.account_ids: dict[str, str] = {}
        self.account_rng = _derived_rng(rng, "accounts")

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add(self, person: Person, truth: list) -> None:
        copies = 2 if self.rng.random() < 0.03 else 1
        for _ in range(copies):
            self._contact(person, truth)
            if self.account_rng.random() < PROSPECT_SHARE:
                self._prospect(person.country, truth)

    def _contact(self, person: Person, truth: list) -> None:
        rng = self.rng
        first, last = variation.name_for(person, "legacy_crm", rng)
        email = variation.email_for(person, "legacy_crm", rng)
        mobile = variation.phone_for(person, "legacy_crm", rng)
        work = variation.format_phone(person.landline, "legacy_crm", rng) if person.landline and rng.random() < 0.5 \
            else None
        defect = variation.pick_defect(rng, ("invalid_email", "invalid_phone", "no_identity"))
        first, last, email, mobile = variation.apply_defect(defect, first, last, email, mobile, rng)
        if defect == "no_identity":
            work = None
        created = ANCHOR - timedelta(seconds=rng.randint(86400, 3 * 365 * 86400))
        modified = created + timedelta(seconds=rng.randint(0, int((ANCHOR - created).total_seconds())))
        contact_id = self._uuid()
        self.rows["contacts"].append({
            "id": contact_id, "date_entered": _naive(created), "date_modified": _naive(modified),
            "modified_user_id": "1", "created_by": "1", "deleted": 1 if rng.random() < 0.02 else 0,
            "salutation": rng.choice(["", "Mr.", "Ms.", "Dr."]) if person.country == "US" else "",
            "first_name": first, "last_name": last, "title": "", "department": "", "birthdate": None,
            "phone_home": None, "phone_mobile": mobile, "phone_work": work, "phone_other": None, "phone_fax": None,
            "primary_address_street": person.street, "primary_address_city": person.city,
            "primary_address_state": person.region, "primary_address_postalcode": person.postcode,
            "primary_address_country": rng.choice(COUNTRIES[person.country]),
            "lead_source": rng.choice(["Web Site", "Cold Call", "Trade Show", "Email", ""]), "description": None})
        if email:
            self._email(contact_id, email, created, modified, primary=1)
        if person.work_email and rng.random() < 0.3 and email != person.work_email:
            self._email(contact_id, person.work_email, created, modified, primary=0)
        if person.company:
            account_id = self.account_ids.get(person.company.company_id)
            if account_id is None:
                account_id = self.account_ids[person.company.company_id] = self._uuid()
                self.rows["accounts"].append({
                    **self._account_details(person.company.country),
                    "id": account_id, "name": person.company.name, "date_entered": _naive(created),
                    "date_modified": _naive(modified), "deleted": 0, "account_type": "Customer",
                    "billing_address_street": person.street, "billing_address_city": person.city,
                    "billing_address_state": person.region, "billing_address_postalcode": person.postcode,
                    "billing_address_country": COUNTRIES[person.company.country][0],
                    "website": f"https://{person.company.domain}"})
                truth.append(self._account_truth(account_id))
            self.rows["accounts_contacts"].append({"id": self._uuid(), "contact_id": contact_id,
                                                   "account_id": account_id, "date_modified": _naive(modified),
                                                   "deleted": 0})
        truth.append({"source": "legacy_crm", "stream": "contacts", "record_id": contact_id,
                      "person_id": person.person_id, "household_id": person.household_id, "defect": defect})

    def _account_details(self, country: str) -> dict[str, Any]:
        """Every accounts column, with the firmographics drawn from the accounts' own random stream."""
        rng = self.account_rng
        employees = rng.choice([5, 12, 40, 85, 150, 400, 1200])
        phone = ru_mobile(rng) if country == "RU" else us_phone(rng)
        return {column.name: None for column in accounts.columns} | {
            "modified_user_id": "1", "created_by": "1", "assigned_user_id": "1", "industry": rng.choice(INDUSTRIES),
            "employees": str(employees), "annual_revenue": str(employees * rng.randint(50, 400) * 1000),
            "phone_office": variation.format_phone(phone, "legacy_crm", rng), "description": ""}

    @staticmethod
    def _account_truth(account_id: str) -> dict[str, str]:
        # a company, not a person: no person or household to resolve it to
        return {"source": "legacy_crm", "stream": "accounts", "record_id": account_id, "person_id": "",
                "household_id": "", "defect": ""}

    def _prospect(self, country: str, truth: list) -> None:
        """An account nobody is linked to (a lead's company, a partner); some were soft-deleted since."""
        rng = self.account_rng
        company = make_company(len(self.rows["accounts"]) + 1, country, rng)
        if country == "RU":
            city = rng.choice(names.RU_CITIES)[0]
            street, state, postcode = f"{rng.choice(names.RU_STREETS)}, д. {rng.randint(1, 120)}", "", \
                str(rng.randint(101000, 690999))
        else:
            city, state, postcode = rng.choice(names.US_CITIES)
            street = f"{rng.randint(1, 9999)} {rng.choice(names.US_STREETS)}"
        created = ANCHOR - timedelta(seconds=rng.randint(86400, 3 * 365 * 86400))
        modified = created + timedelta(seconds=rng.randint(0, int((ANCHOR - created).total_seconds())))
        account_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.rows["accounts"].append({
            **self._account_details(country),
            "id": account_id, "name": company.name, "date_entered": _naive(created), "date_modified": _naive(modified),
            "deleted": int(rng.random() < PROSPECT_DELETED), "account_type": rng.choice(PROSPECT_TYPES),
            "billing_address_street": street, "billing_address_city": city, "billing_address_state": state,
            "billing_address_postalcode": postcode, "billing_address_country": COUNTRIES[country][0],
            "website": f"https://{company.domain}"})
        truth.append(self._account_truth(account_id))

    def _email(self, contact_id: str, email: str, created: datetime, modified: datetime, primary: int) -> None:
        rng = self.rng
        email_id = self._uuid()
        opted = rng.random() < 0.10
        changed = modified + timedelta(days=rng.randint(1, 60)) if opted else modified
        changed = changed if changed < ANCHOR else ANCHOR - timedelta(minutes=rng.randint(30, 8000))
        changed = max(changed, modified)
        self.rows["email_addresses"].append({
            "id": email_id, "email_address": email, "email_address_caps": email.strip().upper(),
            "invalid_email": 0, "opt_out": int(opted), "date_created": _naive(created),
            "date_modified": _naive(changed), "deleted": 0})
        self.rows["email_addr_bean_rel"].append({
            "id": self._uuid(), "email_address_id": email_id, "bean_id": contact_id, "bean_module": "Contacts",
            "primary_address": primary, "reply_to_address": 0, "date_created": _naive(created),
            "date_modified": _naive(modified), "deleted": 0})

    def write(self, url: str) -> dict[str, int]:
        engine = create_database(url)
        with engine.begin() as conn:
            metadata.drop_all(conn)
            metadata.create_all(conn)
            for name, rows in self.rows.items():
                for start in range(0, len(rows), 5000):
                    if rows[start:start + 5000]:
                        conn.execute(metadata.tables[name].insert(), rows[start:start + 5000])
        engine.dispose()
        return {f"legacy_crm.{name}": len(rows) for name, rows in self.rows.items()}


def create_database(url: str) -> sa.Engine:
    """Engine for url, creating the database when it does not exist yet.

    MariaDB/MySQL: utf8mb4. PostgreSQL: UTF8, created from the `postgres` maintenance database, so
    the user needs CREATEDB unless the database is already there. SQLite creates its file itself.
    Datetimes are written naive, in UTC (PostgreSQL: timestamp without time zone).
    """
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("mysql", "mariadb") and parsed.database:
        server = sa.create_engine(parsed.set(database=""))
        with server.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` "
                                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        server.dispose()
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    elif backend == "postgresql" and parsed.database:
        server = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as conn:
                exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                      {"name": parsed.database}).scalar()
                if not exists:
                    quoted = parsed.database.replace('"', '""')
                    conn.execute(sa.text(f'CREATE DATABASE "{quoted}" ENCODING \'UTF8\' TEMPLATE template0'))
        finally:
            server.dispose()
    return sa.create_engine(parsed)
