"""What a line of a legal text is, before what it says: a heading run into a sentence, a table of contents, a right
of the reader, a denial spread over a list of verbs, a refusal among other acts (docs/EVALUATION.md, round 7).

Each reading is checked both ways: the misread it ends, and the risk it must leave raised.
"""

from __future__ import annotations

from compliance_sse.analyzers.rules import analyze_pages

POLICY = (
    "Privacy Policy of Brightline Apps. This policy explains how we handle your information when you use our apps, "
    "and the choices you have about it."
)
MEMO = "Vendor onboarding memo. The supplier contract for the Lisbon warehouse was reviewed by the legal team."


def raised(*pages: str) -> set[str]:
    """The rules found at severity 3 or more on ``pages``."""
    return {f.rule_id or f.category for f in analyze_pages(list(pages)).findings if f.severity >= 3}


def test_a_sentence_whose_space_was_lost_ends_at_its_mark() -> None:
    promise = "Will we share my information with anyone?Our policy is to never use or share it without your consent."
    assert raised(MEMO + " " + promise) == set()
    assert "DP-SALE" in raised(MEMO + " Who gets my data?We sell customer data to data brokers.")


def test_a_heading_run_into_a_notice_sentence_is_no_part_of_it() -> None:
    promise = (
        "Sharing of personal information We do not share or disclose any of your personal information without your "
        "consent."
    )
    assert raised(POLICY + " " + promise) == set()
    assert "DP-SALE" in raised(POLICY + " Sharing of personal information We sell your personal data to data brokers.")
    # Capitalised defined terms are no heading: the sentence stays whole.
    clause = (
        "If You DO NOT notify Us that You are porting Your number, We will sell Your personal data to data brokers."
    )
    assert "DP-C-SELL" in raised(POLICY + " " + clause)


def test_a_denial_reaches_every_verb_of_its_list() -> None:
    assert raised(MEMO + " Your personal information will never be sold, given, rented or traded to others.") == set()
    assert (
        raised(
            MEMO + " The shop does not tie information to individuals for marketing purposes or sell your personal "
            "information to others."
        )
        == set()
    )
    assert "DP-SALE" in raised(MEMO + " Customer data is sold to data brokers and is not encrypted.")


def test_a_refusal_among_other_acts_is_no_refusal_of_them() -> None:
    assert (
        raised(MEMO + " We may refuse registration, cancel an account or deny access to the Site for any reason.")
        == set()
    )
    assert "RM-C-NO-EXIT" in raised(MEMO + " The customer may not terminate the agreement during the first five years.")
    assert "KYC-C-UBO" in raised(
        MEMO + " The client refused to sign the beneficial ownership declaration or provide the register extract."
    )


def test_a_right_of_the_reader_is_no_practice_unless_the_firm_goes_on() -> None:
    for right in (
        "A California resident also has the right to opt-out of having their information sold to a third party.",
        "Data Subjects have the right to request erasure, anonymization or blocking of any data that is processed "
        "in breach of the law.",
        "If you choose not to consent to marketing, or opt out of selling your data, you are not discriminated "
        "against for this reason.",
    ):
        assert raised(POLICY + " " + right) == set(), right
    assert "DP-SALE" in raised(POLICY + " You may opt out, but we still sell your personal data to data brokers.")


def test_a_notice_table_of_contents_is_no_sentence_but_a_disclaimer_in_capitals_is() -> None:
    contents = (
        "Contents Privacy Rights Cookies and Do Not Track Signals Security of Information Children Under 13 EU and "
        "Brazil Privacy Notice, International Users, and Data Transfers Changes to Our Privacy Statement"
    )
    assert raised(POLICY + " " + contents) == set()
    assert "DP-SALE" in raised(POLICY + " WE MAY SELL YOUR PERSONAL DATA TO DATA BROKERS WITHOUT YOUR CONSENT.")


def test_a_ban_on_acting_without_consent_is_a_control() -> None:
    ban = (
        "We encourage parents to help enforce this Policy by instructing their children never to provide Personal "
        "Information through our Website without their permission."
    )
    assert raised(MEMO + " " + ban) == set()
    assert "DP-CONSENT" in raised(MEMO + " We collect and share customer data without their consent.")


def test_uses_of_the_firms_products_led_in_are_the_readers_conduct() -> None:
    banned = (
        "This includes using our products or services to:\n"
        "* Target or track a person's physical location or communication without their consent\n"
    )
    assert raised(POLICY + "\n" + banned) == set()
    practice = "We may:\n* share your personal data with advertisers without your consent\n"
    assert raised(POLICY + "\n" + practice)
