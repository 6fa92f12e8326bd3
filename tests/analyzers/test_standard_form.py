"""Standard-form clauses of a notice to its reader (a privacy policy, terms of service) are noted at severity 2.

The clauses nearly every such notice holds (sharing with service providers, a transfer abroad it announces, terms
that may change, the user's indemnity) are what the notice is for; the same clause in a contract between two firms,
or one that sells data or says a consent, safeguard or notice is missing, stays a risk (docs/EVALUATION.md, round 6).
"""

from __future__ import annotations

import json

from compliance_sse.analyzers.rules import RulesAnalyzer, analyze_pages, is_notice

POLICY = (
    "Privacy Policy of Brightline Apps. This policy explains how we handle your information when you use our apps, "
    "and the choices you have about it."
)
TERMS = (
    "Terms of Service. These terms govern your use of the Brightline app; by creating an account you accept them "
    "and you agree to follow them."
)
MEMO = "Vendor onboarding memo. The supplier contract for the Lisbon warehouse was reviewed by the legal team."


def severities(*pages: str) -> dict[str, int]:
    return {f.rule_id or f.category: f.severity for f in analyze_pages(list(pages)).findings}


def top(*pages: str) -> int:
    """The highest severity found on ``pages`` (0 for none)."""
    return max(severities(*pages).values(), default=0)


def test_a_notice_names_itself_and_speaks_to_its_reader() -> None:
    assert is_notice(POLICY)
    assert is_notice(TERMS)
    assert not is_notice(MEMO)
    assert not is_notice("The Terms of Service of the platform were amended by the board in March.")
    assert not is_notice("Please send the signed privacy notice back to you-know-who.")


def test_a_notice_titled_at_its_head_may_speak_of_users_and_a_contract_citing_one_is_none() -> None:
    third_person = (
        "Privacy Policy of Lifehack. This Website collects some Personal Data from its Users. Users may visit the "
        "Website without giving their name; visitors who subscribe give an e-mail address."
    )
    assert is_notice(third_person)
    assert is_notice(
        "Terms of Services. By using the service you accept these terms, and you agree to them in your use."
    )
    contract = (
        "Master Services Agreement between Brightline Ltd (the Customer) and Hosting Co (the Supplier). The Supplier "
        "hosts the Customer's application for its users and reports on service levels every month, and the "
        "Supplier's staff follow the Customer's instructions on security and backups for all users. The fees are "
        "invoiced monthly in arrears and payable within thirty days of the invoice date, and either party may end "
        "this agreement on ninety days' written notice. "
        "The Supplier shall treat the data of users as the Customer's privacy policy says."
    )
    assert not is_notice(contract)


def test_a_disclosed_sharing_is_noted_in_a_notice_and_a_risk_elsewhere() -> None:
    clause = "We may share personal information with third parties such as our payment and hosting providers."
    assert severities(f"{POLICY} {clause}") == {"DP-SALE": 2}
    assert severities(f"{MEMO} {clause}")["DP-SALE"] >= 3


def test_selling_or_sharing_without_consent_stays_a_risk_in_a_notice() -> None:
    sale = "We may sell your personal data to data brokers and other companies."
    assert top(f"{POLICY} {sale}") >= 3
    covert = "We share your personal information with advertisers without your consent."
    assert top(f"{POLICY} {covert}") >= 3


def test_a_change_of_terms_is_standard_in_consumer_terms_not_in_a_supply_contract() -> None:
    change = "We may change these terms and our prices at any time."
    assert severities(f"{TERMS} {change}") == {"RM-UNILATERAL": 2}
    supplier = "The Supplier may change the prices at any time without notice."
    assert severities(f"{MEMO} {supplier}")["RM-UNILATERAL"] >= 3


def test_a_change_without_notice_or_warning_stays_a_risk_in_consumer_terms() -> None:
    for unannounced in (
        "We may change these terms and our prices at any time without notice.",
        "We reserve the right to modify these terms at any time, without warning.",
    ):
        assert top(f"{TERMS} {unannounced}") >= 3, unannounced


def test_passing_data_on_for_others_marketing_stays_a_risk_in_a_notice() -> None:
    disclosed = "We may share your personal information with third parties such as our hosting providers."
    assert top(f"{POLICY} {disclosed}") == 2
    for resale in (
        "We may share your personal information with third parties for their own direct marketing purposes.",
        "We may share your personal information with third party advertisers and ad networks.",
        "We may share your personal information with other companies so that they may offer you products.",
        "We may share member information with nonaffiliated third parties for marketing purposes.",
    ):
        assert top(f"{POLICY} {resale}") >= 3, resale


def test_describing_the_readers_opt_out_is_standard_in_a_notice() -> None:
    choice = "If you opt out of marketing, we may still send you e-mails about your account and your orders."
    assert top(f"{POLICY} {choice}") <= 2
    assert severities(f"{MEMO} {choice}").get("DP-C-OPT-OUT", 0) >= 3


def test_an_announced_transfer_is_noted_and_an_unprotected_one_raised() -> None:
    announced = "Your personal data may be transferred to and stored on servers in India."
    assert severities(f"{POLICY} {announced}") == {"XB-TRANSFER": 2}
    assert severities(f"{MEMO} {announced}")["XB-TRANSFER"] >= 3
    bare = "Your personal data is transferred to servers in India without any safeguards."
    assert severities(f"{POLICY} {bare}")["XB-TRANSFER"] >= 3


def test_an_aggravated_clause_stays_a_risk_in_a_notice() -> None:
    noted = "We may share your personal data with third parties such as advertisers."
    cash = "We may share your personal data with third parties such as advertisers in the Cayman Islands for cash."
    result = analyze_pages([f"{POLICY} {noted}", cash])
    assert {f.rule_id: f.severity for f in result.findings}["DP-SALE"] == 2
    raised = [f for f in result.findings if f.severity >= 3]
    assert raised and all(ev.page == 2 for f in raised for ev in f.evidence)


def test_the_first_page_decides_whether_a_document_is_a_notice() -> None:
    change = "The Provider may change the fees at any time without notice."
    contract = f"{MEMO} {change}"
    later = f"{POLICY} The privacy policy of the Provider is attached for your information."
    assert severities(contract, later)["RM-UNILATERAL"] >= 3


def test_a_conduct_list_of_a_notice_is_a_rule_for_its_reader_not_a_practice() -> None:
    conduct = (
        "Examples of misuse of the service include:\n"
        "- collecting e-mail addresses or other personal data of other users without their consent\n"
        "- transferring personal data of members to servers in Russia without safeguards"
    )
    assert severities(f"{TERMS}\n{conduct}") == {}
    assert {"DP-CONSENT", "XB-TRANSFER"} <= set(severities(f"{MEMO}\n{conduct}"))


def test_a_list_of_what_the_firm_does_stays_a_risk_to_its_last_item() -> None:
    practices = (
        "We may:\n"
        "- share your personal data with advertisers without your consent\n"
        "- transfer your data to servers in Russia without safeguards"
    )
    found = severities(f"{TERMS}\n{practices}")
    assert found.get("DP-SALE", 0) >= 3
    assert found.get("XB-TRANSFER", 0) >= 3


def test_the_labelled_notice_flags_are_whole_and_read_like_a_contract_when_asked() -> None:
    from eval.notices import GROUPS, LABELS, findings
    from eval.ordinary import Text

    for path in LABELS.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            assert row.keys() - {"second_label"} == {"doc", "rule", "quote_sha1", "group", "label"}, path
            assert row["group"] in GROUPS and row["label"] in ("keep", "standard", "misread"), row
            assert row.get("second_label", "keep") in ("keep", "standard", "misread"), row
    text = Text("test", "notice", f"{TERMS} We may change these terms and our prices at any time.")
    as_notice = {rule: f.severity for (rule, _), f in findings(text, RulesAnalyzer()).items()}
    as_contract = {rule: f.severity for (rule, _), f in findings(text, RulesAnalyzer(), as_notice=False).items()}
    assert as_notice == {"RM-UNILATERAL": 2}
    assert as_contract["RM-UNILATERAL"] >= 3


def test_a_service_may_change_without_notice_in_consumer_terms_but_not_its_fees() -> None:
    service = "We may, without prior notice, modify, suspend or discontinue the Service or any part of it."
    assert top(f"{TERMS} {service}") == 2
    fees = "We may change the fees for premium features at any time without advance notice."
    assert top(f"{TERMS} {fees}") >= 3


def test_a_practice_the_notice_denies_or_remedies_or_forbids_its_reader_is_no_risk() -> None:
    for control in (
        'We do not process any "special categories of personal data" about you (this includes details about your '
        "race or ethnicity, religious beliefs, sex life, sexual orientation, health and biometric data).",
        "We don't collect personally identifiable information without consent.",
        "Sharing Information with Affiliates We do not sell, rent, or otherwise provide your personal information "
        "to third parties for marketing purposes.",
        "If we learn that we have collected personal information of a child without the consent of the child's "
        "parent, we will delete it.",
        "Harvest or otherwise collect information about others, including e-mail addresses, without their consent.",
    ):
        assert top(f"{POLICY}\n\n{control}") <= 2, control


def test_a_denial_with_an_exception_or_of_a_control_stays_a_risk() -> None:
    for risk in (
        "We do not ask for your consent before we share your personal data with advertisers.",
        "We do not verify the identity of customers before opening accounts.",
        "If we find out that your data was shared without consent, we may keep it anyway.",
    ):
        assert top(f"{POLICY}\n\n{risk}") >= 3, risk


def test_a_heading_that_opens_with_a_verb_is_no_order_to_the_reader() -> None:
    for change in (
        "Updates to these Terms We may modify these Terms, with or without notice, at any time.",
        "Site Terms of Use Modifications Parrot may revise these Terms of Use at any time without prior notice.",
    ):
        assert top(f"{TERMS}\n\n{change}") >= 3, change


def test_a_denied_practice_or_a_remedy_is_a_control_in_a_contract_too() -> None:
    for control in (
        "The Supplier does not sell, rent or otherwise provide personal data of the Customer's staff to anyone.",
        "If the Supplier learns that it has collected personal data without consent, it will delete it at once.",
    ):
        assert top(f"{MEMO}\n\n{control}") <= 2, control


def test_special_category_data_stays_a_risk_in_a_notice() -> None:
    biometric = "If you opt into Face ID, we might also collect information about your faceprint and fingerprints."
    assert top(f"{POLICY} {biometric}") >= 3


def test_a_saved_web_page_is_a_notice_by_its_address_on_a_line_of_its_own() -> None:
    menu = "Home About Us Admissions Academics Athletics Alumni Giving News Events Contact Us Search " * 40
    body = "When you apply, we collect your name and your e-mail address, and you may ask us to correct them."
    page = f"https://www.example.edu/about/privacy-statement/\n{menu}\n{body}"
    assert is_notice(page)
    assert not is_notice(f"https://www.example.edu/about/admissions/\n{menu}\n{body}")
    cited = (
        f"{MEMO} The supplier shall follow https://www.example.com/privacy when you ask, as you agreed with your team."
    )
    assert not is_notice(cited)
    clause = "We may share personal information with third parties such as our payment and hosting providers."
    assert severities(f"{page} {clause}") == {"DP-SALE": 2}


def test_a_notice_may_speak_of_its_reader_as_the_data_subject() -> None:
    gdpr = (
        "GDPR Privacy Policy. The processing of personal data of a data subject shall always be in line with the "
        "GDPR. Each data subject has the right to access; the data subject may object at any time."
    )
    assert is_notice(gdpr)
    assert not is_notice("Data processing memo. The data subject of the audit was the payroll system of the firm.")


def test_a_health_notice_of_privacy_practices_notes_the_health_data_it_describes() -> None:
    npp = (
        "Notice of Privacy Practices. THIS NOTICE DESCRIBES HOW MEDICAL INFORMATION ABOUT YOU MAY BE USED AND "
        "DISCLOSED AND HOW YOU CAN GET ACCESS TO THIS INFORMATION. Please review it carefully; you may ask us for a "
        "copy."
    )
    for routine in (
        "We may use and disclose medical information about you for our own health care operations.",
        "We may use or disclose your health information without your authorization for treatment and payment.",
        "We use and disclose medical information about you for a number of different purposes, and we may consult "
        "other health care providers about your medical history without your consent.",
    ):
        assert top(f"{npp} {routine}") == 2, routine
    sale = "We may sell your medical information to data brokers."
    assert top(f"{npp} {sale}") >= 3
    assert top(f"{POLICY} We may use and disclose medical information about you for our own operations.") >= 3


def test_special_category_data_a_notice_names_without_handling_it_is_no_practice() -> None:
    named = "This Statement of Privacy applies to the Marin Medical Society web site and governs data collection."
    assert top(f"{POLICY} {named}") < 3
    for handled in (
        "We also process your genetic information to estimate your ethnicity.",
        "Our partners gather information from consumers, which may include self-reported health information.",
    ):
        assert top(f"{POLICY} {handled}") >= 3, handled
    assert top(f"{MEMO} The leaked file held the medical records of 4,000 patients.") >= 3, "a contract keeps it"


def test_data_that_goes_with_a_business_sold_is_standard_but_a_sale_of_data_is_not() -> None:
    for merger in (
        "If we are acquired by or merged with another company, we may sell or transfer your personal information to "
        "the new owner as part of that transaction.",
        "In addition, if any bankruptcy or reorganization proceeding is brought by or against us, your information "
        "may be considered an asset of ours and may be sold or transferred to third parties.",
    ):
        assert top(f"{POLICY} {merger}") == 2, merger
    for sale in (
        "We may sell your personal information to other companies.",
        "As to donors acquired through our mailings, we sell their personal information to other charities.",
        "If we are acquired, we may also sell your personal information to data brokers.",
    ):
        assert top(f"{POLICY} {sale}") >= 3, sale


def test_a_saved_notice_whose_menus_fill_its_first_page_is_decided_on_the_next() -> None:
    address = "https://www.example.org/about/privacy-policy/"
    menu = "Home About Us Programs Events News Members Donate Contact Us Search Login " * 45
    first = f"{address}\n{menu}"
    assert not is_notice(first), "no reader on the first page"
    clause = "We may share your personal information with third parties such as our payment and hosting providers."
    reader = (
        f"When you register, we collect your name so that you can attend, and you may ask us to delete it. {clause}"
    )
    assert severities(first, reader)["DP-SALE"] == 2
    # An article about privacy policies, speaking to no reader on either page, is read as written.
    article = f"The firm may share personal information with third parties such as its payment providers. {clause}"
    assert severities(first, article)["DP-SALE"] >= 3
    # A contract naming no notice on its first page stays a contract whatever its second page says.
    assert severities(f"{MEMO} {menu}", reader)["DP-SALE"] >= 3


def test_data_passed_on_for_others_advertising_stays_a_risk_in_a_notice() -> None:
    pixel = "Facebook can connect this data with your Facebook account and use it for its own advertising purposes."
    assert top(f"{POLICY} {pixel}") >= 3


def test_a_change_without_notification_is_one_without_notice() -> None:
    assert top(f"{TERMS} We may change the fees at any time with or without prior notification to you.") >= 3
    assert top(f"{TERMS} We may change the fees at any time after prior notification to you.") == 2


def test_others_data_or_someone_elses_act_without_consent_is_no_use_by_the_firm() -> None:
    for sentence in (
        "You must not collect information about other users without their express consent.",
        "Do not post another person's personal details without his or her permission.",
        "If you believe someone is using your account without your permission, contact us at once.",
        "If you disclose personal information without the buyer's consent, you are responsible for that disclosure.",
    ):
        assert severities(TERMS + " " + sentence).get("DP-C-NO-NOTICE", 0) < 3, sentence
    for sentence in (  # the firm's own use, and data passed on to other users, stay a risk
        "We may use your personal information without your permission.",
        "We may disclose your personal data to other users without your consent.",
        "You agree that we may share your personal data with advertisers without your consent.",
        "Data from children is collected without parental consent.",  # a passive's subject is what is done to
        "The app collects location data from children without parental consent.",
    ):
        raised = severities(TERMS + " " + sentence)
        assert max(raised.get(r, 0) for r in ("DP-C-NO-NOTICE", "DP-CONSENT", "DP-SALE")) >= 3, sentence


def test_a_contact_detail_named_is_no_call_made() -> None:
    denied = (
        "We do not sell or rent any personally identifiable information about you, including but not limited to, "
        "your emails, addresses, names, and phone numbers, to any third party without your permission."
    )
    assert top(POLICY + " " + denied) < 3
    assert (
        severities(POLICY + " We phone customers and record their phone numbers without consent.")["DP-C-NO-NOTICE"]
        >= 3
    )


def test_bribery_words_in_a_privacy_notice_are_noted_not_raised() -> None:
    customs = (
        "You may be billed by the carrier, or forced to pay these fees prior to being released to you from customs."
    )
    assert severities(POLICY + " " + customs)["ABC-C-OFFICIAL-BENEFIT"] == 2
    # Terms of service and a contract are no privacy notice: there the same words stay raised.
    assert severities(TERMS + " " + customs)["ABC-C-OFFICIAL-BENEFIT"] >= 3
    assert severities(MEMO + " " + customs)["ABC-C-OFFICIAL-BENEFIT"] >= 3
    # A privacy notice is named by its address too, as a saved web page prints it on a line of its own.
    saved = "https://example.com/legal/privacy-policy/\nBrightline\nWe answer you within a month. " + customs
    assert severities(saved + " You and your data, you and your rights.")["ABC-C-OFFICIAL-BENEFIT"] == 2
    # Due diligence is no bribery: a gap in it stays raised in a privacy notice.
    assert top(POLICY + " We do not verify the identity of customers before opening accounts.") >= 3


def test_a_shops_catalogue_changing_without_notice_is_noted_but_a_fee_or_the_terms_stay_a_risk() -> None:
    for catalogue in (
        "All prices are subject to change without notice.",
        "Prices and availability of products are subject to change without notice.",
        "All descriptions of products or product pricing are subject to change at anytime without notice.",
    ):
        assert top(f"{TERMS} {catalogue}") == 2, catalogue
        assert top(f"{MEMO} {catalogue}") >= 3, catalogue
    for deal in (
        "These terms are subject to change without notice.",
        "Membership prices are subject to change without notice.",
        "The price of your subscription may be changed at any time without notice.",
        "Fees for premium products are subject to change without notice.",
    ):
        assert top(f"{TERMS} {deal}") >= 3, deal


def test_keeping_the_comments_a_reader_posts_is_noted_but_keeping_personal_data_forever_stays_a_risk() -> None:
    for posted in (
        "If you leave a comment, the comment and its metadata are retained indefinitely.",
        "Comments and their metadata are retained indefinitely.",
    ):
        assert top(f"{POLICY} {posted}") == 2, posted
        assert top(f"{MEMO} {posted}") >= 3, posted
    for kept in (
        "We retain call recordings indefinitely.",
        "Your comments and your personal information are kept forever.",
    ):
        assert top(f"{POLICY} {kept}") >= 3, kept


def test_an_option_of_a_request_form_is_what_the_reader_asks() -> None:
    for option in (
        "Request to Know - Categories of third parties By selecting this option, you are instructing us to tell you "
        "the categories of third parties with whom we shared your personal information.",
        "Request to Opt-In By selecting this option, you are giving your permission to sell your personal "
        "information to third parties.",
    ):
        assert top(f"{POLICY} {option}") <= 2, option
    assert top(f"{POLICY} We sell your personal information to third parties for their marketing.") >= 3


def test_a_list_the_firm_denies_is_no_practice() -> None:
    denied = (
        "The library does not:\n\u2022 Collect personally identifiable contact information from children under 13 "
        "without prior verifiable parental consent.\n\u2022 Distribute to third parties any personal information "
        "collected from a child under 13 without prior verifiable parental consent."
    )
    assert top(f"{POLICY} {denied}") <= 2
    done = "We may:\n\u2022 Collect contact information from children under 13 without parental consent."
    assert top(f"{POLICY} {done}") >= 3


def test_access_for_people_with_disabilities_is_no_special_category_data() -> None:
    for access in (
        "Section 508 requires that individuals with disabilities, who are members of the public seeking information "
        "or services from us, have access to and use of information and data comparable to that of others.",
        "Our software is adapted for use by people living with various disabilities.",
    ):
        assert top(f"{POLICY} {access}") <= 2, access
        assert top(f"{MEMO} {access}") <= 2, access
    for data in (
        "We collect information about your disability to provide accommodations.",
        "We collect and share health data of people with disabilities.",
    ):
        assert top(f"{POLICY} {data}") >= 3, data


def test_a_right_a_law_gives_the_reader_is_what_the_reader_may_ask() -> None:
    for right in (
        "California law permits users who are California residents to request and obtain from us, free of charge, "
        "a list of the third parties to whom we have disclosed their personal information for their direct "
        "marketing purposes.",
        "California Civil Code sections 1798.83-1798.84 give California residents the right to ask us for the third "
        "parties to whom we disclosed their personal information for their direct marketing purposes.",
        "The California Consumer Privacy Act (CCPA), effective January 1, 2020, gives California residents the "
        "right to opt out of the sale of their Personal Information.",
        "The California Consumer Privacy Act gives California residents the right to know what personal "
        "information we sell to third parties for their marketing.",
    ):
        assert top(f"{POLICY} {right}") <= 2, right
    for sale in (
        "California law permits us to sell your personal information to data brokers.",
        "The GDPR gives you the right to object, but we sell your personal data to data brokers anyway.",
    ):
        assert top(f"{POLICY} {sale}") >= 3, sale
