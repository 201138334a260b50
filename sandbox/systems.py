"""Record builders for the three HTTP systems, shaped exactly like their public APIs."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import names, variation
from sandbox.population import ANCHOR, Person
from sandbox.store import COMPANY_TZ, SHOP_TZ, utc_key

Row = tuple[str, str, int | None, str, str | None, dict[str, Any]]


def _between(rng: random.Random, start: datetime, end: datetime = ANCHOR) -> datetime:
    span = max(1, int((end - start).total_seconds()))
    return (start + timedelta(seconds=rng.randint(0, span))).replace(microsecond=0)


def _capped(moment: datetime, rng: random.Random) -> datetime:
    """Keep follow-up events (edits, payments) before the anchor without piling them up on it."""
    return moment if moment < ANCHOR else ANCHOR - timedelta(minutes=rng.randint(30, 6 * 24 * 60))


def _truth(truth: list, source: str, stream: str, record_id: Any, person: Person, defect: str = "") -> None:
    truth.append({"source": source, "stream": stream, "record_id": str(record_id), "person_id": person.person_id,
                  "household_id": person.household_id, "defect": defect})


class WooCommerceBuilder:
    """Customers (some only with role=all) and orders, incl. guest orders (customer_id 0)."""

    def __init__(self, rng: random.Random):
        self.rng, self.customers, self.orders, self.next_order = rng, [], [], 1000

    @staticmethod
    def _local(moment: datetime) -> tuple[str, str]:
        return (moment.astimezone(SHOP_TZ).strftime("%Y-%m-%dT%H:%M:%S"),
                moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"))

    def _address(self, person: Person, first: str, last: str, email: str | None, phone: str | None) -> dict:
        country = "RU" if person.country == "RU" else "US"
        billing = {"first_name": first, "last_name": last,
                   "company": person.company.name if person.company else "", "address_1": person.street,
                   "address_2": "", "city": person.city, "state": person.region, "postcode": person.postcode,
                   "country": country, "email": email or "", "phone": phone or ""}
        return billing

    def add(self, person: Person, truth: list) -> None:
        rng = self.rng
        guest = rng.random() < 0.12
        customer_id = 0
        if not guest:
            copies = 2 if rng.random() < 0.03 and len(person.emails) > 1 else 1
            previous = None
            for _ in range(copies):
                customer_id = len(self.customers) + 1
                previous = self._customer(person, customer_id, truth, exclude=previous)
        if guest or rng.random() < 0.7:
            self._orders(person, customer_id, truth)

    def _customer(self, person: Person, customer_id: int, truth: list, exclude: str | None) -> str:
        rng = self.rng
        first, last = variation.name_for(person, "woocommerce", rng)
        email = variation.email_for(person, "woocommerce", rng, exclude=exclude)
        phone = variation.phone_for(person, "woocommerce", rng)
        defect = variation.pick_defect(rng, ("invalid_phone",))
        phone = variation.apply_defect(defect, first, last, email, phone, rng)[3]
        created = _between(rng, person.since - timedelta(days=30), ANCHOR - timedelta(days=1))
        modified = _between(rng, created)
        c_local, c_gmt = self._local(created)
        m_local, m_gmt = self._local(modified)
        billing = self._address(person, first, last, email.strip(), phone)
        shipping = {k: v for k, v in billing.items() if k not in ("email", "phone")}
        body = {"id": customer_id, "date_created": c_local, "date_created_gmt": c_gmt, "date_modified": m_local,
                "date_modified_gmt": m_gmt, "email": email, "first_name": first, "last_name": last,
                "role": "customer" if rng.random() < 0.92 else "subscriber",
                "username": email.strip().split("@")[0].lower(), "billing": billing, "shipping": shipping,
                "is_paying_customer": False, "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm",
                "meta_data": []}
        self.customers.append(body)
        _truth(truth, "woocommerce", "customers", customer_id, person, defect)
        return email.strip().lower()

    def _orders(self, person: Person, customer_id: int, truth: list) -> None:
        rng = self.rng
        profile = rng.random()
        count = rng.randint(4, 12) if profile < 0.15 else rng.randint(1, 4)
        lapsed = profile < 0.25 and count >= 2
        end = ANCHOR - timedelta(days=rng.randint(125, 400)) if lapsed else ANCHOR
        start = max(person.since, end - timedelta(days=700))
        currency = "RUB" if person.country == "RU" else "USD"
        scale = 1 if currency == "RUB" else 1 / 80
        big = profile < 0.08
        first, last = variation.name_for(person, "woocommerce", rng)
        email = variation.email_for(person, "woocommerce", rng).strip()
        phone = variation.phone_for(person, "woocommerce", rng)
        for _ in range(count):
            self.next_order += 1
            created = _between(rng, start, end)
            modified = max(created, _capped(created + timedelta(hours=rng.randint(0, 240)), rng))
            items = []
            for n in range(rng.randint(1, 3)):
                name, price = rng.choice(names.PRODUCTS)
                qty = rng.randint(1, 6 if big else 2)
                unit = round(price * scale * (3 if big else 1), 2)
                items.append({"id": n + 1, "name": name, "product_id": 100 + names.PRODUCTS.index((name, price)),
                              "quantity": qty, "subtotal": f"{unit * qty:.2f}", "total": f"{unit * qty:.2f}",
                              "sku": f"SKU-{100 + n}", "price": unit})
            total = sum(float(i["total"]) for i in items)
            defect = rng.choice(("negative_amount",)) if rng.random() < 0.01 else ""
            if defect:
                total = -total
            status = rng.choices(["completed", "processing", "cancelled", "refunded", "on-hold", "pending"],
                                 [70, 10, 7, 5, 4, 4])[0]
            c_local, c_gmt = self._local(created)
            m_local, m_gmt = self._local(modified)
            done = status == "completed"
            billing = self._address(person, first, last, email, phone)
            self.orders.append({
                "id": self.next_order, "parent_id": 0, "number": str(self.next_order), "status": status,
                "currency": currency, "date_created": c_local, "date_created_gmt": c_gmt,
                "date_modified": m_local, "date_modified_gmt": m_gmt,
                "date_completed": m_local if done else None, "date_completed_gmt": m_gmt if done else None,
                "total": f"{total:.2f}", "total_tax": "0.00", "customer_id": customer_id, "billing": billing,
                "shipping": {k: v for k, v in billing.items() if k not in ("email", "phone")},
                "payment_method": rng.choice(["bacs", "cod", "stripe"]), "line_items": items})
            _truth(truth, "woocommerce", "orders", self.next_order, person, defect)

    def rows(self) -> list[Row]:
        out: list[Row] = []
        for c in self.customers:
            out.append(("customers", str(c["id"]), c["id"], c["date_modified_gmt"], c["role"], c))
        for o in self.orders:
            out.append(("orders", str(o["id"]), o["id"], o["date_modified_gmt"], o["status"], o))
        return out


class MailchimpBuilder:
    """List members: one per address (the list's key), with statuses and merge fields."""

    def __init__(self, rng: random.Random):
        self.rng, self.members = rng, {}

    def add(self, person: Person, truth: list) -> None:
        rng = self.rng
        email = variation.email_for(person, "mailchimp", rng)
        member_id = hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's id
        if member_id in self.members:
            return  # a household address already subscribed by the other person
        first, last = variation.name_for(person, "mailchimp", rng)
        phone = variation.phone_for(person, "mailchimp", rng) if rng.random() < 0.35 else ""
        defect = variation.pick_defect(rng, ("invalid_phone",))
        phone = variation.apply_defect(defect, first, last, email, phone, rng)[3]
        status = rng.choices(["subscribed", "unsubscribed", "cleaned", "pending", "transactional"],
                             [70, 15, 5, 5, 5])[0]
        signup = _between(rng, person.since, ANCHOR - timedelta(days=2))
        changed = _between(rng, signup)
        self.members[member_id] = {
            "id": member_id, "email_address": email, "unique_email_id": hashlib.sha1(member_id.encode()).hexdigest()[:10],
            "contact_id": hashlib.sha1(email.encode()).hexdigest()[:32], "full_name": f"{first} {last}".strip(),
            "web_id": len(self.members) + 100000, "email_type": "html", "status": status,
            "merge_fields": {"FNAME": first, "LNAME": last, "PHONE": phone, "ADDRESS": ""},
            "stats": {"avg_open_rate": round(rng.random(), 2), "avg_click_rate": round(rng.random() / 4, 2)},
            "ip_signup": "", "timestamp_signup": signup.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "ip_opt": "",
            "timestamp_opt": signup.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "member_rating": rng.randint(1, 5),
            "last_changed": changed.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "language": "ru" if person.country == "RU" else "en",
            "vip": False, "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0,
                                       "country_code": person.country, "timezone": ""},
            "source": rng.choice(["Hosted Signup Form", "API - Generic", "Import"]), "tags_count": 0, "tags": [],
        }
        _truth(truth, "mailchimp", "members", member_id, person, defect)

    def rows(self) -> list[Row]:
        return [("members", mid, None, m["last_changed"][:19], m["status"], m)
                for mid, m in sorted(self.members.items())]


class QuickBooksBuilder:
    """Customer, Invoice and Payment entities as the QuickBooks Online API returns them."""

    def __init__(self, rng: random.Random):
        self.rng, self.customers, self.invoices, self.payments = rng, [], [], []
        self.display_names: dict[str, int] = {}

    @staticmethod
    def _meta(created: datetime, updated: datetime) -> dict[str, str]:
        return {"CreateTime": created.astimezone(COMPANY_TZ).isoformat(timespec="seconds"),
                "LastUpdatedTime": updated.astimezone(COMPANY_TZ).isoformat(timespec="seconds")}

    def add(self, person: Person, truth: list) -> None:
        rng = self.rng
        copies = 2 if rng.random() < 0.03 else 1
        for _ in range(copies):
            self._customer(person, truth)

    def _customer(self, person: Person, truth: list) -> None:
        rng = self.rng
        first, last = variation.name_for(person, "quickbooks", rng)
        email = variation.email_for(person, "quickbooks", rng)
        phone = variation.phone_for(person, "quickbooks", rng)
        defect = variation.pick_defect(rng, ("invalid_email", "invalid_phone", "no_identity"))
        first, last, email, phone = variation.apply_defect(defect, first, last, email, phone, rng)
        first, last = first or "", last or ""
        display = f"{first.strip()} {last.strip()}".strip() or f"Customer {len(self.customers) + 1}"
        if person.company and rng.random() < 0.5:
            display = person.company.name
        seen = self.display_names.get(display.lower(), 0)
        self.display_names[display.lower()] = seen + 1
        if seen:
            display = f"{display} ({seen + 1})"
        customer_id = str(len(self.customers) + 1)
        created = _between(rng, person.since - timedelta(days=30), ANCHOR - timedelta(days=1))
        updated = _between(rng, created)
        currency = "RUB" if person.country == "RU" else "USD"
        body: dict[str, Any] = {
            "Id": customer_id, "SyncToken": "0", "DisplayName": display, "GivenName": first, "FamilyName": last,
            "CompanyName": person.company.name if person.company else "", "Active": rng.random() >= 0.03,
            "Balance": 0, "CurrencyRef": {"value": currency, "name": currency},
            "BillAddr": {"Id": str(10000 + int(customer_id)), "Line1": person.street, "City": person.city,
                         "CountrySubDivisionCode": person.region, "PostalCode": person.postcode,
                         "Country": rng.choice(["Russia", "RU", "Россия"]) if person.country == "RU"
                         else rng.choice(["USA", "US", "United States"])},
            "MetaData": self._meta(created, updated)}
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        if phone:
            key = "Mobile" if rng.random() < 0.6 else "PrimaryPhone"
            body[key] = {"FreeFormNumber": phone}
        self.customers.append(body)
        _truth(truth, "quickbooks", "Customer", customer_id, person, defect)
        if rng.random() < 0.8:
            self._invoices(person, body, created, truth)

    def _invoices(self, person: Person, customer: dict, since: datetime, truth: list) -> None:
        rng = self.rng
        currency = customer["CurrencyRef"]["value"] if rng.random() < 0.9 else "EUR"
        for _ in range(rng.randint(1, 8)):
            invoice_id = str(len(self.invoices) + 5001)
            created = _between(rng, since)
            updated = max(created, _capped(created + timedelta(days=rng.randint(0, 20)), rng))
            lines, total = [], 0.0
            for n in range(rng.randint(1, 3)):
                name, price = rng.choice(names.PRODUCTS)
                unit = round(price * (1 if currency == "RUB" else 1 / 85), 2)
                qty = rng.randint(1, 4)
                lines.append({"Id": str(n + 1), "LineNum": n + 1, "Amount": round(unit * qty, 2),
                              "DetailType": "SalesItemLineDetail",
                              "SalesItemLineDetail": {"ItemRef": {"value": str(n + 1), "name": name}, "Qty": qty,
                                                      "UnitPrice": unit}})
                total += unit * qty
            defect = "unknown_currency" if rng.random() < 0.01 else ""
            paid = rng.random() < 0.6
            body = {"Id": invoice_id, "SyncToken": "0", "DocNumber": str(1000 + len(self.invoices)),
                    "TxnDate": created.astimezone(COMPANY_TZ).date().isoformat(),
                    "DueDate": (created + timedelta(days=30)).astimezone(COMPANY_TZ).date().isoformat(),
                    "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
                    "TotalAmt": round(total, 2), "Balance": 0 if paid else round(total, 2),
                    "CurrencyRef": {"value": "XXX" if defect else currency, "name": currency},
                    "Line": lines, "MetaData": self._meta(created, updated)}
            self.invoices.append(body)
            _truth(truth, "quickbooks", "Invoice", invoice_id, person, defect)
            if paid:
                paid_at = max(updated, _capped(updated + timedelta(days=rng.randint(0, 10)), rng))
                self.payments.append({"Id": str(len(self.payments) + 9001), "SyncToken": "0",
                                      "TotalAmt": body["TotalAmt"], "CustomerRef": body["CustomerRef"],
                                      "TxnDate": paid_at.astimezone(COMPANY_TZ).date().isoformat(),
                                      "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}],
                                      "MetaData": self._meta(paid_at, paid_at)})

    def rows(self) -> list[Row]:
        out: list[Row] = []
        for kind, items in (("Customer", self.customers), ("Invoice", self.invoices), ("Payment", self.payments)):
            for item in items:
                moment = datetime.fromisoformat(item["MetaData"]["LastUpdatedTime"])
                tag = None if kind != "Customer" else ("active" if item["Active"] else "inactive")
                out.append((kind, item["Id"], int(item["Id"]), utc_key(moment), tag, item))
        return out
