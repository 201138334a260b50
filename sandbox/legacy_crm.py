"""The SuiteCRM-shaped legacy CRM database (SQLite by default, MariaDB/PostgreSQL by URL)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sandbox import variation
from sandbox.population import ANCHOR, Person

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
    sa.Column("date_entered", sa.DateTime), sa.Column("date_modified", sa.DateTime, index=True),
    sa.Column("deleted", sa.SmallInteger, nullable=False, default=0), sa.Column("account_type", sa.String(50)),
    sa.Column("industry", sa.String(50)), sa.Column("billing_address_city", sa.String(100)),
    sa.Column("billing_address_country", sa.String(255)), sa.Column("website", sa.String(255)),
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


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


class CrmBuilder:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in metadata.tables}
        self.account_ids: dict[str, str] = {}

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add(self, person: Person, truth: list) -> None:
        copies = 2 if self.rng.random() < 0.03 else 1
        for _ in range(copies):
            self._contact(person, truth)

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
                    "id": account_id, "name": person.company.name, "date_entered": _naive(created),
                    "date_modified": _naive(modified), "deleted": 0, "account_type": "Customer",
                    "industry": "", "billing_address_city": person.city,
                    "billing_address_country": COUNTRIES[person.company.country][0],
                    "website": f"https://{person.company.domain}"})
            self.rows["accounts_contacts"].append({"id": self._uuid(), "contact_id": contact_id,
                                                   "account_id": account_id, "date_modified": _naive(modified),
                                                   "deleted": 0})
        truth.append({"source": "legacy_crm", "stream": "contacts", "record_id": contact_id,
                      "person_id": person.person_id, "household_id": person.household_id, "defect": defect})

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
    """Engine for url, creating the MariaDB/MySQL database (utf8mb4) when it does not exist yet."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() in ("mysql", "mariadb") and parsed.database:
        server = sa.create_engine(parsed.set(database=""))
        with server.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` "
                                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        server.dispose()
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return sa.create_engine(parsed)
