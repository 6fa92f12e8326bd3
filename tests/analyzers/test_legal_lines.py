"""What a line of a legal text is, before what it says: a heading run into a sentence, a table of contents, a right
of the reader, a denial spread over a list of verbs, a refusal among other acts (docs/EVALUATION.md, round 7).

Each reading is checked both ways: the misread it ends, and the risk it must leave raised.
"""

from __future__ import annotations

import json
from pathlib import Path

from compliance_sse.analyzers.rules import analyze_pages

from .test_standard_form import MEMO, POLICY


def raised(*pages: str) -> set[str]:
    """The rules found at severity 3 or more on ``pages``."""
    return {f.rule_id or f.category for f in analyze_pages(list(pages)).findings if f.severity >= 3}


def test_a_sentence_whose_space_was_lost_ends_at_its_mark() -> None:
    promise = "Will we share my information with anyone?Our policy is to never use or share it without your consent."
    assert raised(MEMO + " " + promise) == set()
    assert "DP-SALE" in raised(MEMO + " Who gets my data?We sell customer data to data brokers.")


def test_a_name_in_capitals_glued_to_the_sentence_before_starts_a_sentence() -> None:
    # Text copied from a web page lost the space after each full stop, and the firm's name is in capitals.
    page = (
        "ACME may contact you about services that may be offered.ACME\ufffddoes not sell, rent or lease its customer "
        "lists to third parties.ACME\ufffdmay share data with trusted partners to help perform statistical analysis, "
        "send you email or provide customer support."
    )
    assert raised(POLICY + " " + page) & {"DP-SALE", "DP-C-SELL"} == set()
    sale = "ACME may contact you about services that may be offered.ACME\ufffdsells its customer lists to data brokers."
    assert raised(POLICY + " " + sale) & {"DP-SALE", "DP-C-SELL"}
    # An abbreviation's full stop before a reference in capitals ends no sentence.
    memo = MEMO + " Per invoice ref.INV-2024 the agent is paid a success fee in cash for the customs officer."
    quotes = [ev.quote for f in analyze_pages([memo]).findings for ev in f.evidence]
    assert any(q.startswith("Per invoice ref.INV-2024 the agent") for q in quotes), quotes


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
    assert "DP-SALE" in raised(POLICY + " " + clause)


def test_a_question_heading_run_into_a_notice_sentence_is_no_part_of_it() -> None:
    for promise in (
        "How we share personal information We do not sell or rent your personal information to anyone.",
        "The information we sell We do not sell the personal information that we collect.",
    ):
        assert raised(POLICY + " " + promise) == set(), promise
    assert "DP-SALE" in raised(POLICY + " How we share your data We sell your personal data to data brokers.")
    # A question with an auxiliary is a sentence, not a heading: it stays whole.
    assert "DP-SALE" in raised(POLICY + " How we will use it We sell your personal data to data brokers.")


def test_a_heading_run_into_a_sentence_naming_the_firm_or_after_a_mark_is_no_part_of_it() -> None:
    for promise in (
        "How we disclose Personal Data AzireVPN will never share or sell your Personal Data with any third parties.",
        "Information Sharing and Onward Transfer CobbleStone does not sell, rent, or otherwise share your personal "
        "information with any third parties except in the limited circumstances described below.",
        "How we share the information we collect\u00b6 We do not share, sell, rent, or trade User Personal "
        "Information with third parties for their commercial purposes.",
    ):
        assert raised(POLICY + " " + promise) == set(), promise
    for sale in (
        "Sharing Your Data Acme may sell your personal data to data brokers.",
        "Data Sales Acme Corp sells your personal data to data brokers.",
    ):
        assert raised(POLICY + " " + sale) & {"DP-SALE", "DP-C-SELL"}, sale


def test_a_right_of_a_reader_where_they_live_is_the_readers() -> None:
    for right in (
        "If you are a California resident, you have a right to opt-out of the sale of your personal information.",
        "As a California resident, you have a right to know the categories of personal information we have "
        "collected, sold, or disclosed for business purposes.",
        "If you are a resident of the United States of America, you can opt out of sharing personal information "
        "with third-party advertisers.",
    ):
        assert raised(POLICY + " " + right) & {"DP-SALE", "DP-C-SELL"} == set(), right
    for sale in (
        "As a California resident, you may opt out, but we still sell your personal information to data brokers.",
        "If you are a California resident, you acknowledge that we sell your personal information to data brokers.",
    ):
        assert "DP-SALE" in raised(POLICY + " " + sale), sale


def test_an_act_denied_without_consent_is_a_promise_to_ask() -> None:
    for promise in (
        "Any personal information we collect will be used solely to improve our services, and will not be sold to "
        "other companies without your consent.",
        "If we believe a child using the Services is under 13 we will not process any personal information of that "
        "child without the consent of the parent or guardian.",
        "The Owner may be allowed to retain Personal Data for a longer period whenever the User has given consent to "
        "such processing, as long as such consent is not withdrawn.",
        "We will not be liable for any loss you may incur if someone else uses your password, either with or without "
        "your knowledge.",
    ):
        assert raised(MEMO + " " + promise) == set(), promise
    for risk in (
        "We may process your personal data without your knowledge or consent.",
        "We collect the location of customers without telling them.",
        "The files are not encrypted; we process personal data without the consent of the people concerned.",
    ):
        assert raised(MEMO + " " + risk) & {"DP-C-NO-NOTICE", "DP-CONSENT"}, risk


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


def test_a_saved_web_pages_menu_is_no_sentence_in_any_document() -> None:
    menu = (
        "Benefits, Grants, Loans Government Agencies and Elected Officials A-Z Index of Government Agencies Military "
        "Programs and Benefits Health Insurance Disability Services Travel and Immigration Voter Registration"
    )
    assert raised(MEMO + " " + menu) == set()
    assert raised(POLICY + " " + menu) == set()
    named = (
        "The Deposit was wired to Rosneft Trading Services Limited via Gazprombank Moscow Central Branch for Crimea "
        "Sevastopol Port Works"
    )
    assert "SAN-JUR-CRIMEA" in raised(MEMO + " " + named), "a verb in lower case makes names a sentence"


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


def test_words_of_another_category_in_their_ordinary_sense() -> None:
    for ordinary, rule in (
        ("REFUNDS We offer a 7-days money back guarantee on every plan.", "FIN-C-GUARANTEE"),
        (
            "Any claim arising out of your use of the Site must be filed within one year after it arose or it shall "
            "forever be barred.",
            "DP-C-RETENTION",
        ),
        (
            "You may use the Website only for evaluating employment, customer, or business relationships with "
            "MaxMind or for other purposes expressly permitted by the Website.",
            "ABC-C-INFLUENCE",
        ),
        (
            "You must not use the Website to incite hate or intolerance based on race, ethnicity, religion or "
            "sexual orientation.",
            "DP-SPECIAL",
        ),
        (
            "This EIP introduces a tapered issuance burn: each validator is charged a fraction of the idealised "
            "reward for each duty.",
            "FIN-C-PYRAMID",
        ),
    ):
        assert rule not in raised(POLICY + " " + ordinary), ordinary
    assert "FIN-GUARANTEE" in raised(MEMO + " Investors are guaranteed a 25 percent return on their capital.")
    assert "DP-RETENTION" in raised(
        MEMO + " Personal data will be retained indefinitely after the end of the contract."
    )
    assert "ABC-C-INFLUENCE" in raised(
        MEMO + " The agent has a close relationship with the minister who decides the tender."
    )
    assert "DP-SPECIAL" in raised(
        MEMO + " We collect information about your religion and health data to tailor offers."
    )
    assert "FIN-C-PYRAMID" in raised(MEMO + " You earn a 10% commission when you introduce new investors.")


def test_an_export_control_clause_keeps_goods_out_of_a_country() -> None:
    clause = (
        "No Software may be downloaded from the Site or otherwise exported or re-exported into Cuba, Iraq, North "
        "Korea, Iran, Syria, or any other country to which the U.S. has embargoed goods."
    )
    assert raised(POLICY + " " + clause) == set()
    assert "SAN-JUR-IRAN" in raised(
        MEMO + " We shipped the embargoed goods to Tehran, Iran, through a reseller in Dubai."
    )


def test_remedies_denials_definitions_and_the_firms_own_permission_are_no_practice() -> None:
    for control in (
        "In the event that we learn that we have collected personal information from a child under age 13 without "
        "verification of parental consent, we will delete that information as quickly as possible.",
        "If you believe that we have been given the personal information of a child under 13 without parental "
        "consent, please notify us immediately.",
        "Any data collected will not be publicly disclosed by us nor transferred to any third parties without your "
        "prior consent.",
        "We do not use your email or personal data for marketing, advertising, selling, or analytics.",
        "Other than as disclosed in this Privacy Policy, at no time will Keeper disclose identifiable personal "
        "information to any third parties without your express, written consent.",
        "Copying of user profiles or e-mail addresses and publishing them elsewhere is forbidden without the prior "
        "written consent from Experteer.",
        "Sale, for the purpose of the CCPA, means selling, renting, disclosing or otherwise communicating personal "
        "information to another business or a third party for monetary consideration.",
    ):
        assert raised(POLICY + " " + control) == set(), control
    assert "DP-SALE" in raised(POLICY + " We sell personal data to data brokers as disclosed in this Privacy Policy.")
    assert "DP-CONSENT" in raised(
        POLICY + " We share customer data with advertisers without the consent of the Customers."
    )
    assert "DP-SALE" in raised(MEMO + " Selling the customer lists means we earn more from data brokers.")


def test_a_password_request_a_liability_excluded_and_an_open_list_are_no_risk() -> None:
    for ordinary in (
        "Please note that we will never ask you to disclose your password in an unsolicited phone call or email.",
        "We may terminate your account immediately, without prior notice or liability, for any reason whatsoever "
        "and without limitation, including a breach of the Terms.",
        "You may have the right, in some circumstances, to require us to erase your personal information without "
        "undue delay.",
        "Erasure: You may request erasure or blocking of personal data that have been processed unlawfully.",
    ):
        assert raised(POLICY + " " + ordinary) == set(), ordinary
    assert "DP-CONSENT" in raised(
        MEMO + " The customers were never asked for consent before we shared their data with the insurer."
    )
    assert "RM-UNLIMITED" in raised(MEMO + " The Supplier shall be liable without limitation for all losses.")


def test_a_step_is_drawn_by_place_in_the_text_not_by_quote(tmp_path: Path) -> None:
    from eval.notices import step

    def flag(doc: str, rule: str, quote: str, at: int) -> dict[str, object]:
        return {
            "doc": doc,
            "title": "",
            "rule": rule,
            "category": "",
            "quote": quote,
            "quote_sha1": "",
            "context": "",
            "at": at,
        }

    old = [
        flag("a", "DP-SALE", "Sharing We sell your data.", 10),  # re-quoted after the change: the same flag
        flag("a", "DP-C-SELL", "You may opt out of the sale.", 60),  # gone
        flag("b", "RM-UNILATERAL", "We may change these terms.", 0),  # unchanged
    ]
    new = [flag("a", "DP-SALE", "We sell your data.", 18), old[2], flag("b", "XB-TRANSFER", "Data goes abroad.", 40)]
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    counts = step(tmp_path / "old.json", tmp_path / "new.json", tmp_path / "s.jsonl", kept=5)
    assert counts == {"removed": 1, "kept": 2, "added": 1}
    lines = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    groups = {json.loads(x)["id"]: json.loads(x)["group"] for x in (tmp_path / "s.key").read_text().splitlines()}
    assert all("group" not in x and "at" not in x for x in lines)
    assert sorted((x["rule"], groups[x["id"]]) for x in lines) == [
        ("DP-C-SELL", "removed"),
        ("DP-SALE", "kept"),
        ("RM-UNILATERAL", "kept"),
        ("XB-TRANSFER", "added"),
    ]


def test_a_negation_in_an_opening_condition_stays_in_it() -> None:
    assert raised(POLICY + " If you don't, we may suspend or terminate your Game Account.") == set()
    assert "DP-SALE" in raised(
        POLICY + " If the customer does not pay, we may sell the customer database to data brokers."
    )
    assert "RM-C-NO-EXIT" in raised(
        MEMO + " Unless the supplier agrees, the customer may not terminate the agreement during the first five years."
    )


def test_a_sentence_case_contents_run_is_headings_and_the_sentence_after_it_is_read() -> None:
    contents = (
        "Scope What information the Sites collect How we use the information that we collect Information sharing "
        "Your choices, cookies and other tracking technologies Access California Residents Children Confidentiality "
        "and security"
    )
    assert raised(POLICY + " " + contents) == set()
    # The sentence the run ends in is cut off and read on its own: a profile kept forever is the reader's data.
    kept = (
        "Analytics Who we share your data with How long we retain your data If you register, your profile and its "
        "metadata are retained indefinitely."
    )
    assert {"DP-RETENTION", "DP-C-RETENTION"} & raised(POLICY + " " + kept)
    assert "DP-C-SELL" in raised(POLICY + " Contents How we use data How we share data We sell your data to brokers.")


def test_cookies_a_licence_lends_and_an_offered_opt_out_are_no_data_risk() -> None:
    for ordinary, rule in (
        ("Persistent cookies remain on your device or computer indefinitely until deleted.", "DP-C-ERASURE"),
        (
            "You may not rent, lease, loan, sell, resell, sublicense, distribute or otherwise transfer the Mobile "
            "Application to any third party.",
            "AML-C-THIRD-PARTY",
        ),
        (
            "However, we do not share your personally identifiable information with other, third-party companies for "
            "their marketing use without your consent or except as part of a specific program or feature for which "
            "you will have the ability to opt-in or opt-out.",
            "DP-C-OPT-OUT",
        ),
    ):
        assert rule not in raised(MEMO + " " + ordinary), ordinary
    assert "DP-C-ERASURE" in raised(MEMO + " We will not delete cookie data or any personal data even if you ask.")
    assert "AML-C-THIRD-PARTY" in raised(MEMO + " The loan will be repaid by a third party on behalf of the borrower.")
    assert "DP-C-OPT-OUT" in raised(
        MEMO + " You will have the option to opt out, but we will still use your data for marketing."
    )


def test_a_consent_the_reader_may_refuse_is_a_choice_not_a_consent_missing() -> None:
    for choice in (
        "Not granting us permission to share your information with our business partners or vendors may limit your "
        "access to their services through the Sites.",
        "Alternatively you may access more detailed information and change your preferences before consenting or to "
        "refuse consenting.",
        "If you do not provide such consent, Personal Information will continue to be used in a manner that is "
        "consistent with the version of this Notice under which it was collected.",
        "Where we rely on your consent to process the personal information, you have the right to withdraw or "
        "decline your consent at any time.",
    ):
        assert raised(MEMO + " " + choice) == set(), choice
    for risk in (
        "We share customer data with partners although customers never gave consent.",
        "Even if you decline consent, we will process your data for marketing.",
        "Customers who refuse consent are still profiled and their data is used for advertising.",
    ):
        assert "DP-C-NO-NOTICE" in raised(MEMO + " " + risk), risk


def test_a_notice_list_of_what_content_must_not_do_is_policy() -> None:
    for item in (
        "Upload, post, email, transmit or otherwise make available any Content that includes personal or "
        "identifying information about another person, without that person's explicit consent.",
        "Violates the rights of others, including privacy and intellectual property rights, for example, using "
        "personal data or biometrics without legally-required consent.",
    ):
        assert raised(POLICY + " " + item) == set(), item
    # A heading-like noun that can also be a verb opens no order: a change of terms without notice stays a risk.
    assert "RM-C-UNILATERAL" in raised(POLICY + " Changes to these terms may be made at any time without notice.")


def test_officials_of_other_offices_requests_and_named_guarantees_are_no_bribe_or_promise() -> None:
    for ordinary, rule in (
        (
            "Where we receive requests for Personal Data from law enforcement or regulators, we carefully validate "
            "these requests before any Personal Data is disclosed.",
            "ABC-C-OFFICIAL-BENEFIT",
        ),
        (
            "In the case of a competition involving the judging of skill there shall be at least one judge "
            "independent of the promoters, and the identity of that Judge may be given in the competition rules.",
            "ABC-C-OFFICIAL-BENEFIT",
        ),
        (
            "Your religious affiliation may be given to a member of the clergy, such as a priest or minister.",
            "ABC-C-OFFICIAL-BENEFIT",
        ),
        (
            "The online reservation service (including the facilitation of payment service) is operated by us.",
            "ABC-C-BRIBE",
        ),
        (
            "We may change the duration of the Price Guarantee and may vary the Price Guarantee for certain Token.",
            "FIN-C-GUARANTEE",
        ),
    ):
        assert rule not in raised(MEMO + " " + ordinary), ordinary
    for risk, rule in (
        ("The customs official received a gift of USD 5,000 from our agent.", "ABC-C-OFFICIAL-BENEFIT"),
        ("The judge received a luxury watch from the claimant before the hearing.", "ABC-C-OFFICIAL-BENEFIT"),
        ("We gave the tax inspector tickets to the final in return for closing the audit.", "ABC-C-OFFICIAL-BENEFIT"),
        ("Investors are guaranteed a 25 percent return on their tokens.", "FIN-GUARANTEE"),
    ):
        assert rule in raised(MEMO + " " + risk), risk
    assert "ABC-FACILITATION" in raised(MEMO + " The agent asked for a facilitation payment of USD 500 in cash.")


def test_an_intent_denied_an_anonymisation_and_the_laws_question_are_no_practice() -> None:
    for ordinary in (
        "We do not intend to collect or process any data relating to you belonging to special categories, such as "
        "data revealing racial or ethnic origin, religious beliefs, genetic, biometric or health information.",
        "Upon request, we will permanently and irrevocably anonymize your data such that it can never be "
        "reconstructed to identify you.",
        "The CCPA requires businesses to disclose whether they sell Personal Data.",
    ):
        assert raised(MEMO + " " + ordinary) == set(), ordinary
    assert "DP-SPECIAL" in raised(
        MEMO + " We collect health information and biometric data about you to tailor offers."
    )
    assert "DP-RETENTION" in raised(
        MEMO + " Personal data will be retained indefinitely after the end of the contract."
    )
    assert "DP-SALE" in raised(MEMO + " We sell your personal data to data brokers.")


def test_an_erasure_is_refused_only_by_the_firm_without_a_reason_or_a_condition() -> None:
    for ordinary in (
        "If we learn that we hold information from a child without parental consent, we will delete that information.",
        "Your posts may remain available to other members if you do not delete them.",
        "We cannot guarantee that uploaded files will not be deleted or lost.",
        "If we determine that your personal data cannot be deleted, we will explain why.",
        "We will not delete your game credits without notice, unless your account is closed.",
        "By default, transfer jobs won't delete any data from your source or destination.",
        "Deleting your account will not immediately erase all data related to you.",
        "You can delete your account, but you cannot recall or delete information that others have copied.",
        "We reserve the right, but are not obligated, to delete or edit content you submit.",
        "On such a request we delete the information, though it may not be deleted at once from our back-up systems.",
        "Deleting the document from a workspace does not delete your full workspace history.",
    ):
        assert "DP-C-ERASURE" not in raised(MEMO + " " + ordinary), ordinary
    assert "DP-C-ERASURE" in raised(
        MEMO + " The company refuses to delete customer records when customers ask for erasure."
    )
    assert "DP-C-ERASURE" in raised(MEMO + " We do not delete personal data when members ask for deletion.")


def test_temporarily_or_permanently_and_including_without_limitation_set_no_retention() -> None:
    for ordinary in (
        "You may not share your password or account information with any other party, temporarily or permanently, "
        "and you agree to accept responsibility for all activity under your account.",
        "You must keep your account information secure, including without limitation your login and password.",
    ):
        assert raised(MEMO + " " + ordinary) == set(), ordinary
    assert "DP-RETENTION" in raised(MEMO + " Customer files are stored without any time limit.")
    assert raised(MEMO + " Personal information is kept permanently.") & {"DP-RETENTION", "DP-C-RETENTION"}


def test_a_refund_with_no_questions_asked_a_rounded_fraction_and_a_jury_waiver_hide_nothing() -> None:
    for ordinary in (
        "We offer our annual subscribers a no questions asked refund for payments made in the current term.",
        "Within each of our services, we provide a simple no-questions-asked cancellation link.",
        "Compensation is the monthly fee times the months of outage (fraction of yen omitted) as an upper limit.",
        "You and the Company each waive the right to a jury trial or a state or federal judge.",
    ):
        assert raised(MEMO + " " + ordinary) == set(), ordinary
    assert "AML-SECRECY" in raised(MEMO + " The courier will collect the cash at the airport, no questions asked.")
    assert "AML-SECRECY" in raised(MEMO + " Please do not record the cash refund in the books.")
    assert "AML-C-CONCEAL" in raised(
        MEMO + " The invoice omits the consultancy fee so that the payment does not appear."
    )
    assert "KYC-C-PEP" in raised(
        MEMO + " The client's father is a sitting judge and no enhanced due diligence was done."
    )


def test_a_remedy_after_a_connective_is_still_a_remedy() -> None:
    for remedy in (
        "However, if we learn that we have received information from a child under 16 without parental consent, we "
        "will delete that information from our database.",
        "In the event we learn that we collected personal information from a child under 13 without parental "
        "consent, we will delete that information.",
        "Consistent with the requirements of COPPA, if we learn that we received information from a child without "
        "verified parental consent, we will delete it.",
    ):
        assert raised(MEMO + " " + remedy) == set(), remedy
    assert "DP-C-NO-NOTICE" in raised(
        MEMO + " We collect personal information from children under 13 without parental consent."
    )


def test_a_broken_contract_a_withdrawn_right_a_mutual_change_and_a_quoted_definition_are_no_risk() -> None:
    for ordinary in (
        "If the customer breaches this Agreement, the supplier may suspend the service without notifying the customer.",
        "If you do not agree to the changes, you must immediately withdraw your Books from further distribution.",
        "If you accept such an offer, we will immediately withdraw your right to use the platform and you will "
        "compensate us for any losses.",
        "The Parties may amend these terms and conditions by mutual agreement at any time by signing an addendum.",
        "\u201cSale\u201d, for the purpose of the CCPA, means selling, renting, disclosing or making available "
        "personal information to a third party for monetary or other valuable consideration.",
    ):
        assert raised(MEMO + " " + ordinary) == set(), ordinary
    assert "DP-C-BREACH-LATE" in raised(MEMO + " We did not notify customers of the breach of their personal data.")
    assert "AML-C-PASS-THROUGH" in raised(
        MEMO + " Funds received from the client were withdrawn in cash immediately and sent to an account in Dubai."
    )
    assert raised(MEMO + " The supplier may amend the fees at any time.") & {"RM-UNILATERAL", "RM-C-UNILATERAL"}


def test_an_entry_of_a_table_of_contents_says_nothing() -> None:
    entry = "3.6 A-to-z guarantee and return policy " + "." * 60 + "16"
    assert raised(MEMO + "\n" + entry) == set()
    assert "FIN-C-GUARANTEE" in raised(MEMO + " Investors are guaranteed a 25 percent annual return until 2030.")


def test_a_consent_withdrawn_by_visiting_a_page_is_the_way_out() -> None:
    way_out = (
        "If you later change your mind, you may withdraw your consent to our use of your personal information by "
        "visiting your profile page and clicking the box to remove consent."
    )
    assert raised(MEMO + " " + way_out) == set()
    assert "DP-C-DEFAULT-CONSENT" in raised(
        MEMO + " By visiting the site you consent to the processing of your personal data for marketing."
    )


def test_a_match_among_the_links_of_a_menu_run_into_a_sentence_is_no_sentence() -> None:
    links = (
        "Care Diploma Worksite Learning Classroom and Community Support Faculty Disability and Applied Behaviour "
        "Analysis Early Childhood Education Health Information Management Medical Office Assistant Careers Alumni "
        "Giving Directions Parking Library Bookstore Housing Athletics Events Calendar News Contact"
    )
    sentence = "We collect your name and e-mail address when you apply."
    assert raised(f"{MEMO} {links} {sentence}") == set()
    assert raised(f"{POLICY} {links} {sentence}") == set()
    risk = "We share the diagnosis and medical history of applicants with employers."
    assert "DP-SPECIAL" in raised(f"{MEMO} {links} {risk}"), "the sentence after the menu is read"
    for payment in (
        "Pay to Crimea Sevastopol Port Works, account at Gazprombank Moscow Central Branch.",
        "The deposit was wired to Sevastopol Port Works in Crimea.",
    ):
        assert "SAN-JUR-CRIMEA" in raised(f"{MEMO} {payment}"), "a sentence short enough to quote is no menu"


def test_a_defined_term_unquoted_or_with_its_quotation_marks_lost_says_what_a_word_means() -> None:
    for definition in (
        "Sensitive Personal Data means any personal data revealing racial or ethnic origin, political opinions, "
        "religious beliefs, trade union membership, health or sex life.",
        "\ufffdSale\ufffd or \ufffdsell\ufffd means selling, renting, releasing, disclosing or making available a "
        "consumer's personal information to a third party for monetary or other valuable consideration.",
    ):
        assert raised(f"{POLICY}\n{definition}") == set(), definition
    assert "DP-SALE" in raised(f"{POLICY}\nThis means that we sell your personal data to data brokers.")


def test_a_question_or_the_acts_term_for_a_sale_states_no_sale() -> None:
    for words in (
        "Does Stoneware sell personal information?",
        "Our business or commercial purpose for collecting or selling that personal information.",
        "The categories of third parties to whom the personal information was sold or disclosed for a business "
        "purpose.",
        'The CCPA requires that we use the term "sell" to include even sharing with business partners for operations.',
        '(2) the categories of Personal Information "sold";',
        "Whether we've sold your Personal Information, and if so, the categories of Personal Information received.",
    ):
        assert raised(POLICY + " " + words) & {"DP-SALE", "DP-C-SELL"} == set(), words
    for sale in (
        "We sell the categories of personal information listed above to data brokers.",
        "We share your data with partners, who may sell it; the categories of personal information sold to them are "
        "listed below.",
        "Why do we sell your personal data to data brokers?",
    ):
        assert raised(POLICY + " " + sale) & {"DP-SALE", "DP-C-SELL"}, sale
    # Outside a notice, a question in a memo is read as it stands.
    assert "DP-SALE" in raised(MEMO + " Does the vendor sell customer personal data to data brokers?")


def test_a_long_remedy_is_still_a_remedy() -> None:
    remedy = (
        "If Acme Cosmetics learns that a child under the age of 13 years has provided PII (personally identifiable "
        "information) to the Acme Cosmetics Site without verifiable parental consent, Acme Cosmetics will use "
        "commercially reasonable efforts to delete such information from its databases."
    )
    assert raised(MEMO + " " + remedy) == set()


def test_consent_named_as_a_legal_basis_is_no_use_without_consent() -> None:
    for basis in (
        "Generally, we do not rely on consent as a legal basis for processing your personal data other than in "
        "relation to sending third party direct marketing communications to you.",
        "We do not use consent as the lawful basis for processing your personal data, except for marketing e-mails.",
    ):
        assert raised(MEMO + " " + basis) == set(), basis
    for missing in (
        "We process your personal data without your consent.",
        "We use your personal data for profiling without asking for your consent.",
    ):
        assert raised(MEMO + " " + missing), missing
