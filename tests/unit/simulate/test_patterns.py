"""Each fraud pattern appears, with the shape it promises: what a detector would have to
see in the events (the truth file only says which they are)."""

from __future__ import annotations

from datetime import timedelta

from riskloop.simulate.places import distance_km
from tests.unit.simulate.conftest import Run, when


def test_card_testing_is_a_burst_of_small_mostly_declined_attempts(run: Run) -> None:
    incidents = run.incidents("card_testing")
    assert incidents
    for events in incidents.values():
        attempts = [e for e in events if run.role(e) == "test_attempt"]
        assert all(e["amount"] < 500 and e["channel"] == "card_not_present" for e in attempts)
        assert len({e["merchant"]["id"] for e in attempts}) == 1
        assert len({e["device"]["id"] for e in attempts}) == 1
        declined = sum(e["auth_result"] == "declined" for e in attempts)
        assert declined / len(attempts) > 0.5
        # The most-tried card: at least six attempts within ten minutes.
        by_card: dict[str, list[str]] = {}
        for e in attempts:
            by_card.setdefault(e["card"]["pan"], []).append(e["occurred_at"])
        busiest = max(by_card.values(), key=len)
        assert len(busiest) >= 6
        assert when(busiest[-1]) - when(busiest[0]) <= timedelta(minutes=10)


def test_card_testing_cashes_out_only_cards_that_passed_a_test(run: Run) -> None:
    for events in run.incidents("card_testing").values():
        passed = {
            e["card"]["pan"]
            for e in events
            if run.role(e) == "test_attempt" and e["auth_result"] == "approved"
        }
        cashed = {e["customer_id"] for e in events if run.role(e) == "cash_out"}
        tested = {e["customer_id"] for e in events if e["card"]["pan"] in passed}
        assert cashed <= tested


def test_account_takeover_goes_new_device_login_then_payee_then_transfer_within_an_hour(
    run: Run,
) -> None:
    incidents = run.incidents("account_takeover")
    assert incidents
    for events in incidents.values():
        login = next(e for e in events if run.role(e) == "login")
        added = next(e for e in events if run.role(e) == "payee_added")
        transfers = [e for e in events if run.role(e) == "transfer"]
        customer = login["customer_id"]
        earlier = [
            e
            for e in run.events
            if e.get("customer_id") == customer
            and e["occurred_at"] < login["occurred_at"]
            and not run.fraud(e)
        ]
        assert login["success"] is True
        assert login["device"]["id"] not in {e.get("device", {}).get("id") for e in earlier}
        home = next(e["geo"] for e in earlier if "geo" in e)
        assert (
            distance_km(home["lat"], home["lon"], login["geo"]["lat"], login["geo"]["lon"]) > 1500
        )
        assert login["occurred_at"] < added["occurred_at"] < transfers[0]["occurred_at"]
        assert all(t["payee"] == added["payee"] for t in transfers)
        assert when(transfers[-1]["occurred_at"]) - when(login["occurred_at"]) < timedelta(hours=1)
        payees_before = {e["payee"]["id"] for e in earlier if e["event_type"] == "transfer"}
        assert added["payee"]["id"] not in payees_before


def test_compromised_merchant_cards_are_used_elsewhere_days_after_the_skimmed_terminal(
    run: Run,
) -> None:
    incidents = run.incidents("compromised_merchant")
    assert incidents
    for events in incidents.values():
        points = [e for e in events if run.role(e) == "compromise_point"]
        uses = [e for e in events if run.role(e) == "card_use"]
        assert len(points) >= 3 and uses
        assert len({(e["merchant"]["id"], e["merchant"]["terminal_id"]) for e in points}) == 1
        assert not any(run.fraud(e) for e in points)
        skimmed = {e["card"]["pan"]: when(e["occurred_at"]) for e in points}
        for use in uses:
            assert use["card"]["pan"] in skimmed
            assert use["merchant"]["id"] != points[0]["merchant"]["id"]
            assert when(use["occurred_at"]) - skimmed[use["card"]["pan"]] >= timedelta(days=2)


def test_stolen_card_is_used_in_person_faster_than_anyone_travels(run: Run) -> None:
    incidents = run.incidents("stolen_card")
    assert incidents
    for events in incidents.values():
        first = next(e for e in events if run.role(e) == "card_use")
        assert first["channel"] == "card_present"
        before = [
            e
            for e in run.events
            if e["event_type"] == "card_payment"
            and e["card"]["pan"] == first["card"]["pan"]
            and e["occurred_at"] < first["occurred_at"]
            and "geo" in e
        ]
        last = before[-1]
        km = distance_km(
            last["geo"]["lat"], last["geo"]["lon"], first["geo"]["lat"], first["geo"]["lon"]
        )
        hours = (when(first["occurred_at"]) - when(last["occurred_at"])).total_seconds() / 3600
        assert km / hours > 800
        assert first["merchant"]["country"] != first["card"]["country"]


def test_synthetic_identities_open_thin_accounts_ramp_up_apply_and_bust_out(run: Run) -> None:
    incidents = run.incidents("synthetic_identity")
    assert incidents
    genuine_customers = {
        e["customer_id"] for e in run.events if e["event_type"] == "kyc_record" and not run.fraud(e)
    }
    for events in incidents.values():
        by_customer: dict[str, list[dict]] = {}
        for e in events:
            by_customer.setdefault(e["customer_id"], []).append(e)
        addresses = set()
        for customer, mine in by_customer.items():
            assert customer not in genuine_customers
            kyc = mine[0]
            assert kyc["event_type"] == "kyc_record" and kyc["verification_status"] == "verified"
            assert "thin credit file" in kyc["document_check"]["reasons"]
            addresses.add(kyc["person"]["address"]["line1"])
            roles = [run.role(e) for e in mine]
            applied = roles.index("application") if "application" in roles else None
            if applied is None:
                continue
            application = mine[applied]
            assert application["product"] == "credit_line"
            assert application["bureau"]["credit_history"] in ("no_credit", "all_paid_here")
            ramp = [e["amount"] for e in mine[:applied] if e["event_type"] == "card_payment"]
            bust = [e["amount"] for e in mine[applied:] if e["event_type"] == "card_payment"]
            if ramp and bust:
                assert min(bust) > sum(ramp) / len(ramp)
        assert len(addresses) == 1  # the ring shares one address
