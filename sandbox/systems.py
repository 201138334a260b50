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
    """List members: one per address (the list's key), with statuses and merge fields.

    Also campaigns and their reports (sent-to, email activity, unsubscribes), derived from the
    finished member list with a generator of their own, so adding them changed no member record.
    """

    def __init__(self, rng: random.Random):
        self.rng, self.members = rng, {}
        # Seeded from the whole state without drawing from it: member records stay byte-identical.
        self.activity_rng = random.Random(hashlib.sha256(repr(rng.getstate()).encode()).hexdigest())

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
        # Mailchimp for WooCommerce syncs a buyer's billing address into the ADDRESS merge field (a
        # generator of its own, so every other member field stays as it was before addresses existed)
        address: dict | str = ""
        if "woocommerce" in person.systems and random.Random(f"address:{member_id}").random() < 0.6:
            address = {"addr1": person.street, "addr2": "", "city": person.city, "state": person.region,
                       "zip": person.postcode, "country": person.country}
        self.members[member_id] = {
            "id": member_id, "email_address": email, "unique_email_id": hashlib.sha1(member_id.encode()).hexdigest()[:10],
            "contact_id": hashlib.sha1(email.encode()).hexdigest()[:32], "full_name": f"{first} {last}".strip(),
            "web_id": len(self.members) + 100000, "email_type": "html", "status": status,
            "merge_fields": {"FNAME": first, "LNAME": last, "PHONE": phone, "ADDRESS": address},
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
        out: list[Row] = [("members", mid, None, m["last_changed"][:19], m["status"], m)
                          for mid, m in sorted(self.members.items())]
        return out + _MailchimpActivity(random.Random(self.activity_rng.random()), self.members).rows()


MC_TIME = "%Y-%m-%dT%H:%M:%S+00:00"
SUBJECTS = ["Autumn sale: 20% off", "New arrivals are in", "Your monthly digest", "Last chance: free delivery",
            "Thank you for being with us", "Winter collection preview", "Our story, ten years on",
            "Gift ideas for everyone", "Back in stock", "A little survey (2 minutes)"]
CAMPAIGN_URLS = ["https://shop.example/sale", "https://shop.example/new", "https://shop.example/blog",
                 "https://shop.example/account", "https://shop.example/gifts"]
UNSUBSCRIBE_REASONS = ["I no longer want to receive these emails", "I never signed up for this mailing list",
                       "The emails are spam and should be reported", "The emails are inappropriate", "Other",
                       "N/A (Unsubscribed by admin)"]


class _MailchimpActivity:
    """Sent campaigns and what their recipients did, consistent with the members' statuses.

    A recipient was subscribed at send time: subscribed since before it, or unsubscribed/cleaned
    only after it. An unsubscribed member who got a campaign in the 30 days before the change
    unsubscribed through it (at their last_changed); a cleaned member's last such campaign
    hard-bounced. Events fall between the send and the anchor, one timestamp per member and action.
    """

    def __init__(self, rng: random.Random, members: dict[str, dict[str, Any]]):
        self.rng, self.members = rng, members

    def rows(self) -> list[Row]:
        rng = self.rng
        out: list[Row] = []
        sends = sorted(ANCHOR - timedelta(days=rng.randint(3, 365), hours=rng.randint(0, 9), minutes=rng.randint(0, 59))
                       for _ in range(rng.randint(6, 9)))
        subjects = rng.sample(SUBJECTS, len(sends) + 1)
        received: dict[str, list[tuple[datetime, str]]] = {}  # member -> (send time, campaign id)
        campaigns = []
        for n, sent_at in enumerate(sends):
            sent_at = sent_at.replace(second=0, microsecond=0)
            campaign_id = f"{rng.getrandbits(40):010x}"
            eligible = [m for m in sorted(self.members) if self._subscribed_at(self.members[m], sent_at)]
            recipients = sorted(rng.sample(eligible, round(len(eligible) * rng.uniform(0.6, 1.0))))
            for member_id in recipients:
                received.setdefault(member_id, []).append((sent_at, campaign_id))
            campaigns.append((campaign_id, sent_at, subjects[n], recipients))
        bounced, unsubscribed = self._fates(received)
        for campaign_id, sent_at, subject, recipients in campaigns:
            out += self._campaign(campaign_id, sent_at, subject, recipients, bounced, unsubscribed)
        draft_id = f"{rng.getrandbits(40):010x}"
        created = ANCHOR - timedelta(days=1, hours=3)
        out.append(("campaigns", draft_id, None, utc_key(created), "save",
                    self._campaign_body(draft_id, "save", created, None, subjects[-1], 0, None)))
        return out

    @staticmethod
    def _subscribed_at(member: dict[str, Any], moment: datetime) -> bool:
        signup = datetime.fromisoformat(member["timestamp_signup"])
        changed = datetime.fromisoformat(member["last_changed"])
        if member["status"] == "subscribed":
            return signup <= moment
        return member["status"] in ("unsubscribed", "cleaned") and signup <= moment < changed

    def _fates(self, received: dict[str, list[tuple[datetime, str]]]) -> tuple[set, dict]:
        """(campaign, member) pairs that hard-bounced; (campaign, member) -> unsubscribe time."""
        bounced, unsubscribed = set(), {}
        for member_id, sends in sorted(received.items()):
            member = self.members[member_id]
            changed = datetime.fromisoformat(member["last_changed"])
            sent_at, campaign_id = max(sends)
            if changed - sent_at > timedelta(days=30):
                continue
            if member["status"] == "cleaned":
                bounced.add((campaign_id, member_id))
            elif member["status"] == "unsubscribed":
                unsubscribed[(campaign_id, member_id)] = changed
        return bounced, unsubscribed

    def _campaign_body(self, campaign_id: str, status: str, created: datetime, sent_at: datetime | None,
                       subject: str, emails_sent: int, summary: dict[str, Any] | None) -> dict[str, Any]:
        # recipients.list_id and each report's list_id are added by the server: the list id is a credential
        # made after the data.
        body: dict[str, Any] = {
            "id": campaign_id, "web_id": int(campaign_id[:6], 16), "type": "regular",
            "create_time": created.strftime(MC_TIME), "archive_url": f"https://eepurl.com/{campaign_id[:6]}",
            "status": status, "emails_sent": emails_sent, "send_time": sent_at.strftime(MC_TIME) if sent_at else "",
            "content_type": "template", "needs_block_refresh": False, "resendable": False,
            "recipients": {"list_is_active": True, "list_name": "Seam sandbox audience", "segment_text": "",
                           "recipient_count": emails_sent},
            "settings": {"subject_line": subject, "preview_text": "", "title": subject, "from_name": "Seam Shop",
                         "reply_to": "news@shop.example", "use_conversation": False, "to_name": "*|FNAME|*",
                         "folder_id": "", "authenticate": True, "auto_footer": False, "inline_css": False,
                         "auto_tweet": False, "fb_comments": False, "timewarp": False, "template_id": 10001,
                         "drag_and_drop": True},
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False, "goal_tracking": False,
                         "ecomm360": False, "google_analytics": "", "clicktale": ""},
        }
        if summary is not None:
            body["report_summary"] = summary
        return body

    def _campaign(self, campaign_id: str, sent_at: datetime, subject: str, recipients: list[str],
                  bounced: set, unsubscribed: dict) -> list[Row]:
        rng = self.rng
        out: list[Row] = []
        open_share, click_share = rng.uniform(0.25, 0.45), rng.uniform(0.15, 0.35)
        opens = unique_opens = clicks = clickers = 0
        for member_id in recipients:
            member = self.members[member_id]
            who = {"email_id": member_id, "email_address": member["email_address"]}
            status = "hard" if (campaign_id, member_id) in bounced else "soft" if rng.random() < 0.02 else "sent"
            events: list[dict[str, Any]] = []
            if status != "sent":
                events.append({"action": "bounce", "type": status,
                                "timestamp": sent_at + timedelta(minutes=rng.randint(1, 90))})
            elif rng.random() < open_share:
                first = sent_at + timedelta(minutes=rng.randint(2, 3 * 24 * 60))
                moments = {first} | {first + timedelta(minutes=rng.randint(5, 14 * 24 * 60))
                                     for _ in range(rng.choices([0, 1, 2], [60, 30, 10])[0])}
                ip = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                events += [{"action": "open", "timestamp": t, "ip": ip} for t in sorted(moments)]
                if rng.random() < click_share:
                    taps = {first + timedelta(seconds=rng.randint(5, 600)) for _ in range(rng.randint(1, 2))}
                    events += [{"action": "click", "timestamp": t, "url": rng.choice(CAMPAIGN_URLS), "ip": ip}
                               for t in sorted(taps)]
            events = sorted((e for e in events if e["timestamp"] < ANCHOR), key=lambda e: e["timestamp"])
            opened = [e["timestamp"] for e in events if e["action"] == "open"]
            opens, unique_opens = opens + len(opened), unique_opens + bool(opened)
            clicked = sum(e["action"] == "click" for e in events)
            clicks, clickers = clicks + clicked, clickers + bool(clicked)
            for n, event in enumerate(events):
                moment = event["timestamp"]
                body = {"campaign_id": campaign_id, **who, **event, "timestamp": moment.strftime(MC_TIME)}
                out.append(("email_activity", f"{campaign_id}:{member_id}:{n:03d}", None, utc_key(moment),
                            event["action"], body))
            out.append(("sent_to", f"{campaign_id}:{member_id}", None, utc_key(sent_at), status, {
                "campaign_id": campaign_id, **who, "merge_fields": dict(member["merge_fields"]), "vip": False,
                "status": status, "open_count": len(opened),
                "last_open": max(opened).strftime(MC_TIME) if opened else "", "absplit_group": "",
                "gmt_offset": 0, "list_is_active": True}))
            left = unsubscribed.get((campaign_id, member_id))
            if left is not None:
                out.append(("unsubscribes", f"{campaign_id}:{member_id}", None, utc_key(left), None, {
                    "campaign_id": campaign_id, **who, "merge_fields": dict(member["merge_fields"]), "vip": False,
                    "timestamp": left.strftime(MC_TIME), "reason": rng.choice(UNSUBSCRIBE_REASONS),
                    "list_is_active": True}))
        sent = len(recipients)
        summary = {"opens": opens, "unique_opens": unique_opens, "open_rate": round(unique_opens / max(1, sent), 4),
                   "clicks": clicks, "subscriber_clicks": clickers,
                   "click_rate": round(clickers / max(1, sent), 4)}
        created = sent_at - timedelta(days=2)
        out.append(("campaigns", campaign_id, None, utc_key(sent_at), "sent",
                    self._campaign_body(campaign_id, "sent", created, sent_at, subject, sent, summary)))
        return out


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
