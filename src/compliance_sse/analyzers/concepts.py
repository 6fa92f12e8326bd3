"""Concept rules: a finding is a combination of concepts (actor, action, object, condition) in one sentence.

A sentence is cut into word tokens; each token carries its lemmas (lemminflect's dictionary, no model), so "paid",
"pays" and "payment" all meet the concept PAY. A concept is a synonym set of single words and multi-word lemma
sequences (``"success fee"``, ``"without limit"``). A rule lists *slots*, each one concept or alternatives:

* ``"PAY"``: the concept occurs, and if it is an action, not under a negation or a prohibition in its clause
  ("we do not accept cash", "third-party payments are refused");
* ``"!SAFEGUARD"``: the concept occurs *negated* ("no transfer agreement", "without any safeguard", "EDD not
  started", "refused to sign"): the missing control is the risk;
* ``"A|B|!C"``: any of them.

Sentences describing a red flag in a policy or training text ("staff must report...", "red flags include") are
left alone, and so are those whose ``unless`` concepts occur (a safeguard in the same sentence cancels only that
sentence's transfer). Severity starts at the rule's base and rises by one for an aggravating factor (cash,
officials or their relatives, secrecy or evasion wording, offshore centres, amounts far above the stated profile,
special-category data) and by one more for three of them, never above 5.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from lemminflect import getAllLemmas, getAllLemmasOOV

from .gazetteer import ADEQUATE, find_places

__all__ = [
    "CONCEPTS",
    "CONCEPT_RULES",
    "ConceptHit",
    "ConceptRule",
    "SentenceConcepts",
    "lemmas",
    "match_rules",
    "read_sentence",
]

# --- tokens and lemmas -----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9]+|[;:]|%|[$\u20ac\u00a3]|['\u2018\u2019\"\u201c\u201d]")


@functools.lru_cache(maxsize=65536)
def lemmas(word: str) -> frozenset[str]:
    """The word, lower-cased, and every lemma lemminflect knows for it (nouns and verbs guessed when unknown)."""
    w = word.lower()
    out = {w}
    found = getAllLemmas(w)
    if found:
        for forms in found.values():
            out.update(forms)
    elif w.isalpha() and len(w) > 3:
        for upos in ("NOUN", "VERB"):
            out.update(getAllLemmasOOV(w, upos).get(upos, ()))
    if w.endswith("s") and len(w) >= 3 and w[-2] != "s":
        out.add(w[:-1])  # plurals lemminflect does not know: "CVs", "SCCs"
    return frozenset(out)


NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "nor",
        "neither",
        "cannot",
        "t",
        "nothing",
        "none",
        "nobody",
        "without",
        "lack",
        "lacking",
        "absent",
        "missing",
        "zero",
    ]
)
"""Words that negate what follows them in their clause ("t" is the tail of "don't")."""
_ACTION_NEGATORS = NEGATORS - {"without", "lack", "lacking", "absent", "missing"}
_AFTER_NEGATORS = frozenset(
    ["not", "never", "missing", "pending", "outstanding", "withheld", "waived", "skipped", "blank"]
)
_PROHIBIT = frozenset(["prohibit", "forbid", "ban", "refuse", "reject", "decline", "block", "disallow", "bar"])
_ALLOW = frozenset(["permit", "allow", "accept", "tolerate", "authorise", "authorize", "make", "offer", "give", "pay"])
_CLAUSE_WORDS = frozenset(["but", "however", "although", "whereas", "unless", "except", "while"])
_NEG_WINDOW = 6


# --- concepts --------------------------------------------------------------------------------------------------

CONCEPTS: dict[str, tuple[str, ...]] = {
    # money and its movement
    "PAY": (
        "pay", "payment", "remit", "remittance", "transfer", "wire", "send", "route", "settle", "deposit", "credit",
        "fund", "forward", "channel", "transmit", "give", "hand", "receive", "accept", "lodge", "top up", "top-up",
        "donate", "donation", "lend", "loan", "repay", "repayment", "buy", "purchase", "disburse", "reimburse",
        "refund", "cover", "withdraw", "withdrawal", "move", "invest", "subscription", "proceeds", "money", "funds",
        "salary", "commission", "fee", "beneficiary", "incoming", "outgoing",
    ),
    "MONEY": (
        "pay", "payment", "remit", "remittance", "wire", "deposit", "fund", "funds", "money", "cash", "refund",
        "invoice", "settle", "repayment", "repay", "donation", "salary", "proceeds", "transfer money", "banknote",
        "withdrawal", "withdraw", "loan", "subscription money", "usd", "eur", "$",
    ),
    "CASH": (
        "cash", "banknote", "in note", "suitcase", "envelope", "money order", "prepaid card", "gold bar", "bullion",
        "hawala", "bearer cheque", "bag of money",
    ),
    "THIRD_PARTY": (
        "third party", "unrelated", "not a party", "not party", "on behalf of", "any person", "another person",
        "different account", "different name", "personal account", "cousin", "in the name of", "someone else",
        "other than the", "private account",
    ),
    "SAME_DEST": (
        "same account", "single account", "same bank account", "same beneficiary", "same player", "same person",
        "one account", "same wallet", "same recipient",
    ),
    "MANY": (
        "several", "many", "multiple", "numerous", "various", "unrelated individual", "different city",
        "different teller", "different branch", "each week", "every week", "each day", "twenty", "five", "six",
        "four", "three", "dozen", "series",
    ),
    "SPLIT": (
        "split", "break up", "smaller amount", "smaller transfer", "below the reporting", "under the reporting",
        "just below", "just under", "reporting limit", "reporting threshold", "stay under", "stay below",
        "before any form", "draw attention", "avoid the report", "avoid reporting", "avoid a report",
    ),
    "ASK": ("ask", "enquire", "inquire", "want to know", "question"),
    "REPORT_FORM": ("form", "report", "reported", "declaration", "declare", "threshold", "ctr"),
    "SAME_DAY": (
        "same day", "next day", "at once", "immediately", "within hour", "same afternoon", "within a day",
        "same week", "within one day", "straight away",
    ),
    "FLOW_OUT": ("withdraw", "forward", "wire", "send", "leave", "transfer", "move", "outgoing", "pay out"),
    "CONCEAL": (
        "conceal", "hide", "obscure", "disguise", "not appear", "leave off", "leave out", "left off", "left out",
        "stand out", "draw attention", "not record", "keep quiet", "keep secret", "secretly", "omit",
        "mislabel", "under the radar", "no question", "so that no", "not be shown", "backdate",
        "fake invoice", "false invoice", "falsify", "inflate", "misdescribe", "obscure its origin", "left blank",
        "under the name of", "off the book", "in the book as", "rather than to", "disguised as",
    ),
    "LABEL": ("say", "mark", "describe", "label", "reference", "book", "record", "show", "state", "call"),
    "OFFSHORE": (
        "offshore", "seychelles", "british virgin islands", "bvi", "cayman", "belize", "panama", "andorra",
        "marshall islands", "vanuatu", "samoa", "liechtenstein", "labuan", "nevis", "bahamas", "anguilla",
    ),
    "SHELL": (
        "shell company", "no staff", "no employee", "no website", "no trading history", "no operation",
        "no real business", "letterbox", "brass plate", "no office",
    ),
    "LOAN_BACK": (
        "lend back", "lent back", "back as a loan", "loan back", "come back as a loan",
        "lent back to", "never repaid", "never be repaid",
    ),
    "RESELL": ("resell", "resold", "flip", "sell on"),
    "REPEAT": ("twice", "several time", "three time", "repeatedly", "within one month", "within a month"),
    "MIXER": (
        "mixer", "mixing service", "tumbler", "privacy wallet", "privacy coin", "chain hopping", "coin mixer",
        "tornado cash", "unhosted wallet",
    ),
    "UNLICENSED_MSB": ("unlicensed hawala", "hawala network", "underground bank", "unlicensed money", "hawaladar"),
    "PRICE": (
        "price", "unit price", "invoice", "priced", "worth", "valuation", "value of the good", "declared value",
        "customs value", "invoice value", "market value", "true value", "real value", "actual value",
    ),
    "MISPRICE": (
        "above market", "below market", "inflate", "overstate", "understate", "over invoice", "under invoice",
        "over-invoice", "under-invoice", "sell for about", "market price", "worth only", "although the same",
    ),
    "GOODS": ("goods", "cargo", "shipment", "container", "consignment", "product", "valve", "machine"),
    "SHIP": ("ship", "load", "deliver", "dispatch", "export", "send", "truck", "carry", "go", "collect", "transport"),
    "PAPER_ONLY": ("only the paperwork", "paper only", "only on paper", "phantom", "ghost shipment"),
    "BENEFICIARY_CHANGE": (
        "change the beneficiary", "change the payment account", "change the account", "new beneficiary",
        "different beneficiary",
    ),
    "NESTED": ("other bank", "downstream bank", "nested", "payable-through", "payable through"),
    "USE_ACCOUNT": ("use its account", "use the account", "through its account", "use our account"),
    "PROFILE": (
        "expected activity", "stated business", "declared business", "stated purpose", "expected turnover",
        "declared income", "profile", "stated income",
    ),
    "CONTRAST": ("but", "although", "however", "yet", "whereas", "while"),
    # due diligence
    "UBO": (
        "beneficial owner", "ultimate owner", "ultimate beneficial owner", "owner", "ownership", "shareholder",
        "beneficiary", "who own", "controller", "ubo",
    ),
    "UNKNOWN": (
        "unknown", "anonymous", "withheld", "undisclosed", "unidentified", "unexplained", "unverified",
        "not known", "blank", "anonymity", "stay anonymous", "remain unknown", "remains unknown",
    ),
    "IDENTIFY": (
        "identify", "disclose", "verify", "provide", "know", "collect", "obtain", "receive", "see", "keep", "check",
        "document", "explain", "say", "answer", "show", "request", "tell",
    ),
    "NOMINEE": ("nominee", "bearer share", "bearer form", "bearer shares", "nominee director", "nominee shareholder"),
    "PEP": (
        "politically exposed", "minister", "head of the national", "governor", "senator", "ambassador",
        "state-owned", "national oil company", "judge", "mayor", "member of parliament",
    ),
    "EDD": (
        "enhanced due diligence", "edd", "enhanced check", "additional check", "enhanced review",
        "senior management approval", "enhanced",
    ),
    "SOURCE": (
        "source of wealth", "source of fund", "source of the fund", "where it come from",
        "where the money", "origin of the fund", "origin of the money", "origin of the usd", "origin of the eur",
    ),
    "ID_DOC": (
        "identity", "identity document", "passport", "id card", "selfie", "proof of address", "identity check",
        "kyc", "customer due diligence", "identification document",
    ),
    "OPEN": ("open", "fund", "activate", "onboard", "trade", "start"),
    "BEFORE": ("before",),
    "SKIP": ("skip", "waive", "bypass", "dispense with", "do without", "not needed", "no need"),
    "SIMPLIFIED": ("simplified due diligence", "simplified check", "sdd", "reduced due diligence"),
    "HIGH_RISK": ("high-risk", "high risk", "higher risk", "grey list", "greylisted"),
    "ADDRESS": ("address", "proof of address", "registered office"),
    "PO_BOX": ("po box", "p o box", "post office box", "virtual office", "registered agent", "mail drop"),
    "REFUSE": ("refuse", "decline", "reluctant", "unwilling"),
    "PURPOSE": ("purpose", "what the account", "use for", "nature of the business"),
    # sanctions
    "STRIP": (
        "leave off", "leave out", "left off", "left out", "omit", "remove", "strip", "delete", "not mention",
        "not show", "hide", "conceal", "left blank", "blank", "under the name of", "disguise", "relabel",
        "show dubai", "as destination", "as origin", "describe",
    ),
    "DOC_FIELD": (
        "name", "end user", "end-user", "consignee", "origin", "destination", "port", "country", "payment message",
        "document", "bill of lading", "invoice", "field", "reference", "airway bill", "name field",
    ),
    "ROUTE_FIELD": ("destination", "end user", "end-user", "consignee", "port of", "country of"),
    "BANK_ROUTE": (
        "correspondent", "payment message", "us bank", "clearing bank", "swift", "wire", "letter of credit",
        "lc", "insurer",
    ),
    "LIST_HIT": (
        "listed on", "is listed", "be listed", "appear on the list", "same name and date of birth", "name match",
        "designated by", "on the sdn", "sdn list", "sdn-listed", "sanctioned person", "on the un", "isil list",
        "not cleared", "similarity",
    ),
    "FALSE_POSITIVE": (
        "false positive", "different person", "no match", "returned no", "negative", "be cleared", "was cleared",
    ),
    "PARTY": (
        "director", "counterparty", "beneficiary", "owner", "customer", "client", "buyer", "seller", "one of",
        "shareholder", "supplier", "name match",
    ),
    "PROCEED": ("release", "pay", "continue", "anyway", "process", "proceed", "not cleared"),
    "EXCEPTION": ("exception", "exempt", "waiver", "override"),
    "LICENCE_REVIEW": ("licence", "license", "licence review", "review", "screening", "check", "approval"),
    "TRANSSHIP": (
        "first", "then", "via", "through", "re-export", "onward", "transship", "transshipment", "reroute",
        "by truck", "in transit",
    ),
    "MILITARY": ("drone", "military", "weapon", "missile", "army", "munition", "dual-use", "dual use"),
    "EVADE_SHIP": (
        "transponder", "ais", "ship-to-ship", "ship to ship", "another ship", "another vessel", "at sea at night",

    ),
    # bribery
    "OFFICIAL": (
        "public official", "government official", "foreign official", "state official", "customs official",
        "port official", "tax official", "officials", "minister", "deputy minister", "ministry", "mayor",
        "governor", "judge", "inspector", "customs officer", "tax inspector", "customs director", "senator",
        "member of parliament", "councillor", "police", "tax chief", "evaluation committee", "hospital director",
        "doctor", "state-owned", "civil servant", "customs", "procurement officer", "head of department",
        "regulator", "official's", "officer of the ministry", "tender committee", "ministry of",
    ),
    "RELATIVE": (
        "wife", "husband", "spouse", "daughter", "son", "brother", "sister", "nephew", "niece", "cousin",
        "brother-in-law", "family", "relative", "friend", "son-in-law", "father", "mother", "partner of",
    ),
    "BENEFIT": (
        "pay", "payment", "gift", "trip", "holiday", "travel", "hospitality", "dinner", "business class", "car",
        "watch", "donation", "donate", "hire", "intern", "internship", "job", "fee", "commission", "kickback",
        "cover", "rebate", "envelope", "cash", "invite", "payroll", "salary", "consultant", "consultancy",
        "receive", "give", "employ", "scholarship", "sponsor", "tuition", "money",
    ),
    "BRIBE_WORD": (
        "bribe", "kickback", "facilitation payment", "facilitation", "grease payment", "grease",
        "backhander", "under the table", "sweetener", "little extra", "extra payment", "speed money", "tea money",
        "pay a little extra", "pay extra", "ghost employee", "ghost worker",
    ),
    "DECISION": (
        "tender", "licence", "license", "permit", "contract", "concession", "audit", "inspection", "clearance",
        "approval", "award", "decide", "deciding", "building permit", "safety check", "clear", "prescribe",
        "prescribing", "bid", "procurement", "customs clearance", "pass its",
    ),
    "AGENT": (
        "agent", "intermediary", "consultant", "distributor", "broker", "representative", "sales agent",
        "clearing agent", "bidder", "middleman", "fixer",
    ),
    "RECOMMEND": ("recommend", "introduce", "nominate", "insist", "suggest", "refer"),
    "INFLUENCE": ("influence", "connections with", "contacts in", "relationship with", "old colleague"),
    "CONDITIONAL": ("only if", "once the", "success fee", "on condition", "payable if", "payable only"),
    "SUCCESS_FEE": ("success fee", "contingency fee", "bonus if", "fee payable only if"),
    "REPORTING": (
        "report", "timesheet", "invoice detail", "description", "detail", "documentation", "written agreement",
        "activity report", "receipt", "supporting document",
    ),
    "COMPLIANCE_DOC": (
        "anti-corruption", "anti-bribery", "anti corruption", "compliance clause", "questionnaire", "certification",
        "code of conduct", "audit clause",
    ),
    # data
    "PERSONAL": (
        "personal data", "personal information", "personal detail", "pii", "personally identifiable",
        "special category", "health data", "medical record", "patient", "payroll", "cv", "resume", "biometric",
        "recording", "call recording", "cctv", "footage",
    ),
    "ROLE": (
        "buyer", "seller", "customer", "client", "supplier", "provider", "party", "lessee", "lessor", "borrower",
        "lender", "contractor", "vendor", "us", "we", "processor", "controller", "agreement", "contract",
    ),
    "BOILERPLATE": (
        "warranty", "in no event", "as is", "disclaim", "licensor", "licensee", "copyright", "this license",
        "this licence", "merchantability", "permission is hereby", "redistribution", "endorse or promote",
        "theory of liability", "business interruption", "public license", "covered work", "covered code",
        "this software", "license agreement", "licence agreement", "agreement steward", "commercial distributor",
        "license text", "licence text", "open source",
    ),
    "TECHNICAL": (
        "compiler", "kernel", "parameter", "patch", "bug", "bugfix", "debian", "api", "cve", "syscall", "plugin",
        "segfault", "command line", "daemon", "socket", "null", "pointer", "integer", "boolean", "byte", "unicode",
        "python", "perl", "gcc", "upstream", "lintian", "changelog", "sysfs", "systemd", "script", "deprecate",
        "abi", "regex", "runtime", "backend", "repository", "github", "source code", "decorator", "macro", "stdout",
        "stderr", "hashable", "mutable", "immutable", "iterator", "subclass", "namespace", "keyword argument",
        "default value", "exit code", "openssl", "ssl", "tls", "dns", "ssh", "sql", "header file", "linux", "unix",
        "posix", "gnu", "cpan", "host key", "public key", "host name", "hostname", "message bus", "in memory",
        "database connection", "pip install", "npm", "sdk", "endpoint", "localhost", "stack trace", "traceback",
    ),
    "CONTACT": (
        "name", "address", "e-mail", "email", "phone number", "date of birth", "purchase history", "salary",
        "bank detail", "phone",
    ),
    "SUBJECT": (
        "customer", "client", "patient", "employee", "staff", "candidate", "applicant", "user", "participant",
        "donor", "member", "subscriber", "resident", "individual", "pupil", "student", "child", "traveller",
        "passenger", "contact person", "visitor", "data subject", "citizen", "consumer", "consignee", "guest",
        "borrower", "people", "your", "person",
    ),
    "THING": (
        "data", "record", "database", "file", "list", "detail", "cv", "profile", "recording", "image", "name",
        "e-mail", "email", "address", "phone", "phone number", "history", "information", "letter", "ticket",
        "sample", "score", "log", "contact", "photo", "location", "message", "footage", "fingerprint",
    ),
    "TRANSFER": (
        "transfer", "send", "copy", "upload", "host", "store", "process", "replicate", "move", "share", "access",
        "answer", "screen", "phone", "backup", "back up", "outsource", "ship", "go", "handle", "run", "receive",
        "keep", "export", "disclose", "forward", "mirror", "sync", "transcribe", "remote access", "processed",
        "call", "analyse", "analyze",
    ),
    "SAFEGUARD": (
        "standard contractual clause", "scc", "adequacy", "adequacy decision", "binding corporate rule", "bcr",
        "data privacy framework", "privacy framework", "transfer agreement", "data transfer agreement",
        "transfer mechanism", "transfer impact assessment", "transfer assessment", "safeguard",
        "contractual clause", "data processing agreement", "dpa", "comparable protection", "idta",
        "data transfer clause", "data transfer contract", "clause", "agreement", "contract", "sign", "signed",
        "assessment",
    ),
    "ABROAD": (
        "abroad", "overseas", "outside the eu", "outside the eea", "outside the european", "third country",
        "outside singapore", "outside the uk", "cross-border", "cross border", "offshore",
    ),
    "REQUIREMENT": ("require", "must", "shall", "should", "need", "only", "may only", "policy"),
    "ALL_TRANSFERS": ("all transfer", "every transfer", "any transfer", "all such transfer", "these transfer"),
    "LOCAL": ("never leave", "stay in", "remain in", "never leaves", "within the eea", "within the eu"),
    "SELL": (
        "sell", "sale", "pass to", "share", "disclose", "rent", "trade", "monetise", "monetize", "make available",
        "give to", "hand over",
    ),
    "RECIPIENT_3P": (
        "third party", "advertiser", "advertising", "sponsor", "insurer", "employer", "lender",
        "marketing", "data broker", "broker", "highest bidder",
    ),
    "REPURPOSE": (
        "own commercial", "its own", "own purpose", "also be used", "also use", "develop its own", "new purpose",
        "other purpose", "credit score",
    ),
    "KEEP": ("keep", "retain", "store", "hold", "archive", "kept"),
    "FOREVER": (
        "indefinitely", "forever", "as long as we see fit", "without a time limit", "no time limit", "indefinite",
        "even after", "permanently", "in case they", "without limit of time", "no retention", "for ever",
        "without time limit", "even if you ask",
    ),
    "ERASE_REQ": (
        "delete", "erase", "erasure", "deletion", "right to be forgotten", "access request", "subject access",
        "request to delete",
    ),
    "HONOUR": ("accept", "honour", "honor", "answer", "respond", "action", "process", "grant", "comply"),
    "INFORM": (
        "ask", "tell", "inform", "notify", "consent", "permission", "knowledge", "parent", "telling", "asking",
        "informing",
    ),
    "PROCESS": (
        "collect", "add", "record", "read", "monitor", "track", "call", "use", "store", "take", "access", "share",
        "screenshot", "keystroke", "capture",
    ),
    "SPECIAL": (
        "health", "medical", "religion", "religious", "ethnicity", "ethnic", "trade union", "biometric",
        "fingerprint", "genetic", "sexual orientation", "criminal record", "pregnancy", "political opinion",
        "heart rate", "mood", "children", "child", "race", "sex life", "disability",
    ),
    "EXPOSED": (
        "all manager", "everyone", "all staff can", "shared drive", "any employee", "no alternative",
        "without alternative", "ask about", "asked about", "anyone",
    ),
    "CONSENT_OK": ("explicit consent", "with your consent", "article 9", "art 9", "dpia", "anonymised", "anonymized"),
    "DEFAULT_TICK": ("ticked by default", "pre-ticked", "pre ticked", "by visiting", "continued use"),
    "OPTED_OUT": ("opt out", "opted out", "unsubscribe", "withdrawn consent", "objected"),
    "ANYWAY": ("anyway", "still", "regardless", "nevertheless", "all the same"),
    "BREACH": ("breach", "incident", "data leak", "compromise", "lost laptop", "hack"),
    "NOTIFY": ("tell", "notify", "inform", "report", "notification"),
    "LATE": (
        "end of the quarter", "next month", "next quarter", "when convenient", "at our discretion",
        "at its discretion", "end of the year", "later", "eventually", "when we have time",
    ),
    "REGULATOR": ("regulator", "authority", "supervisor", "ico", "cnil", "pdpc", "commissioner"),
    "DPO": ("data protection officer", "dpo"),
    # financial regulation
    "RETURN": (
        "return", "profit", "yield", "interest", "per cent", "percent", "%", "income", "payout", "gain",
        "capital", "principal", "earn", "receive",
    ),
    "GUARANTEE": (
        "guarantee", "guaranteed", "promise", "assure", "assured", "without fail", "risk-free",
        "risk free", "no risk", "zero risk", "cannot be lose", "cannot lose", "never had a losing",
        "fully protect", "whatever happen", "regardless of market", "100% protected", "capital protect",
        "never lose",
    ),
    "INVEST": (
        "invest", "investor", "investment", "profit", "yield", "interest", "per cent", "percent", "%", "payout",
        "dividend", "principal", "capital", "earn", "gain", "return on", "saving", "deposit", "fund", "portfolio",
        "scheme", "token", "crypto", "coin", "bond", "guaranteed return", "fixed return", "annual return",
        "monthly return", "high return", "return of", "money", "stake", "share", "income", "payment",
    ),
    "REQUEST": ("request", "ask", "right", "demand", "application"),
    "PYRAMID_BONUS": ("bonus", "reward", "commission", "cut", "percentage"),
    "RECRUIT": ("bring in", "recruit", "refer", "introduce", "friends you", "downline", "sign up"),
    "POOL": ("pool", "commingle", "mix", "hold in", "kept in", "held in"),
    "OWN_ACCOUNT": ("personal account", "director's account", "own account", "director's personal"),
    "LICENCE": (
        "licence", "license", "licensed", "authorisation", "authorization", "authorised", "authorized",
        "registered", "registration", "banking licence", "regulated", "prospectus",
    ),
    "FIN_ACTIVITY": (
        "investor", "investment", "retail", "client", "deposit", "deposit-taking", "credit", "consumer credit",
        "trading", "fund", "securities", "security", "broker", "bank", "banking", "token", "crypto", "staking",
        "advice", "financial", "insurance", "issuer", "loan", "forex", "investment service", "retail client",
        "retail customer",
    ),
    "EXEMPT": ("institutional", "exempt", "professional investor", "qualified investor", "not required because"),
    "DISCLOSURE": (
        "annual percentage rate", "apr", "total cost of credit", "cost of credit", "risk warning", "key information",
        "fees and charges", "risk disclosure", "total cost", "interest rate",
    ),
    "SHOW": ("show", "disclose", "provide", "publish", "give", "issue", "send", "tell"),
    # contracts
    "LIABLE": ("liable", "liability", "indemnify", "indemnity", "responsible", "responsibility"),
    "UNLIMITED": (
        "unlimited", "without limit", "without any limitation", "no cap", "not be limited", "uncapped",
        "of any kind", "whatsoever", "from any cause", "however caused", "all claim", "all cost",
        "without limitation", "no limit", "any cause", "no upper limit", "limitless",
    ),
    "AUDIT_RIGHT": ("audit", "inspect", "inspection", "access for audit", "right to audit", "audit right"),
    "WAIVE": ("waive", "give up", "renounce"),
    "CHANGE": ("change", "amend", "modify", "revise", "raise", "adjust", "vary", "increase", "alter"),
    "TERMS": (
        "fee", "price", "term", "scope", "service level", "agreement", "contract", "payment account", "rate",
        "condition", "service", "tariff",
    ),
    "UNILATERAL": (
        "sole discretion", "at any time", "whenever it choose", "whenever it chooses", "whenever we want",
        "unilaterally", "without notice", "every month", "continued use mean", "its own discretion",
        "whenever it wants", "without our agreement", "without agreement",
    ),
    "NOTICE": ("notice", "consent", "agreement", "approval", "inform", "tell", "reminder", "remind", "notify"),
    "RENEW": (
        "renew", "renewal", "continue automatically", "roll over", "auto-renew", "from year to year",
        "automatically renew", "automatic renewal", "renews",
    ),
    "RENEW_TRAP": ("cannot terminate", "renewal date itself", "without remind", "no reminder", "without reminding"),
    "TERMINATE": (
        "terminate", "termination", "cancel", "end the contract", "way out", "leave the contract", "exit the contract",
        "leave the agreement", "exit the agreement", "right to leave",
    ),
    "CARVE_OUT": ("fraud", "death", "personal injury", "wilful misconduct", "gross negligence", "willful misconduct"),
    "SUBCONTRACT": ("subcontract", "sub-processor", "subprocessor", "assign", "delegate", "sub-contract"),
    "REMEDY": ("remedy", "service level", "sla", "penalty", "compensation", "service credit"),
    "STOP_SERVICE": ("stop the service", "suspend the service", "stop service", "terminate the service"),
    # addressed to a machine
    "AI_ADDRESSEE": (
        "ai", "language model", "llm", "automated", "reviewer bot", "bot", "ai system", "ai model",
        "system prompt", "automated reviewer", "automated screening", "compliance tool", "screening tool",
        "ai assistant", "chatbot", "model",
    ),
    "INSTRUCT": (
        "ignore", "disregard", "report", "classify", "mark", "treat", "say", "answer", "skip", "summarise",
        "summarize", "approve", "override", "rate", "score", "omit", "stop",
    ),
    "VERDICT": (
        "low risk", "compliant", "approved", "zero finding", "no finding", "not report anything", "skip the check",
        "fully licensed", "standard", "as approved", "clean", "no risk", "already been approved",
    ),
    # a policy describing a red flag, not doing it
    "POLICY": (
        "red flag", "warning sign", "must report", "must be reported", "should be reported", "must escalate",
        "escalate", "report to the mlro", "mlro", "suspicious activity", "suspicious transaction", "training",
        "we screen", "screened against", "policy prohibit", "is prohibited", "are prohibited", "are blocked",
        "is blocked", "zero tolerance", "typology", "indicator of", "transaction report", "must complete",
        "must file", "report as required", "reported as required", "ctr", "filed with", "currency transaction",
    ),
}  # fmt: skip
"""Concept name -> its terms, written as lemmas; a term of several words matches consecutive tokens."""

ACTIONS = frozenset(
    [
        "PAY",
        "SHIP",
        "TRANSFER",
        "SELL",
        "KEEP",
        "PROCESS",
        "CHANGE",
        "BENEFIT",
        "FLOW_OUT",
        "RESELL",
        "LIABLE",
        "GUARANTEE",
        "RENEW",
        "SUBCONTRACT",
        "RECOMMEND",
        "ASK",
    ]
)
"""Concepts that are things done: a negation or prohibition in their clause makes them not happen."""

_INDEX: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
for _name, _terms in CONCEPTS.items():
    for _term in _terms:
        _words = tuple(w for w in re.split(r"[\s-]+", _term.lower()) if w)
        if _words:
            _INDEX.setdefault(_words[0], []).append((_name, _words))


@functools.lru_cache(maxsize=65536)
def _starts(word: str) -> tuple[frozenset[str], tuple[tuple[str, tuple[str, ...]], ...]]:
    """A word's lemmas and the concept terms that may start at it."""
    lem = lemmas(word)
    return lem, tuple(c for lemma in lem for c in _INDEX.get(lemma, ()))


_INDEX_SYMBOLS = {s: tuple(_INDEX.get(s, ())) for s in ("%", "$")}


@dataclass(frozen=True, slots=True)
class _Tok:
    start: int
    end: int
    lemmas: frozenset[str]
    clause: int


@dataclass(slots=True)
class SentenceConcepts:
    """What one sentence holds: tokens, the concepts met (with token spans), amounts and places."""

    text: str
    tokens: list[_Tok]
    hits: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    amounts: list[float] = field(default_factory=list)
    countries: list[tuple[str, int, int]] = field(default_factory=list)

    def has(self, concept: str) -> bool:
        return concept in self.hits

    def negated(self, i: int) -> bool:
        """Whether token ``i`` is under a negation before it (or just after it) within its clause."""
        clause = self.tokens[i].clause
        for k in range(max(0, i - _NEG_WINDOW), i):
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & NEGATORS:
                return True
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & _PROHIBIT:
                return True
        for k in range(i + 1, min(len(self.tokens), i + 3)):
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & _AFTER_NEGATORS:
                return True
        return False

    def action_denied(self, i: int) -> bool:
        """An action is denied by a negation before it, or a prohibition anywhere in its clause."""
        clause = self.tokens[i].clause
        for k in range(max(0, i - _NEG_WINDOW), i):
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & _ACTION_NEGATORS:
                return True
        return any(t.clause == clause and t.lemmas & _PROHIBIT for t in self.tokens)

    def forbidden(self, i: int) -> bool:
        """The clause of token ``i`` says it is not allowed ("... are not permitted", "is not accepted")."""
        clause = self.tokens[i].clause
        toks = [t for t in self.tokens if t.clause == clause]
        for k, tok in enumerate(toks):
            if tok.lemmas & _ACTION_NEGATORS and any(t.lemmas & _ALLOW for t in toks[k + 1 : k + 4]):
                return True
        return False

    def present(self, concept: str) -> tuple[int, int] | None:
        """A span where ``concept`` occurs in the affirmative (actions: not denied)."""
        for a, b in self.hits.get(concept, ()):
            if concept not in ACTIONS or not self.action_denied(a):
                return a, b
        return None

    def lacking(self, concept: str) -> tuple[int, int] | None:
        """A span where ``concept`` occurs negated ("no safeguard", "not verified", "refused to sign")."""
        for a, b in self.hits.get(concept, ()):
            if self.negated(a):
                return a, b
        return None

    def char_span(self, span: tuple[int, int]) -> tuple[int, int]:
        return self.tokens[span[0]].start, self.tokens[span[1] - 1].end


_DIGIT = re.compile(r"\d")
_UPPER = re.compile(r"[A-Z]")
_REGEX_CONCEPTS = (
    # Words of one concept split by others: "leave the name of the end user off the message".
    (
        "NEVER_SHIPPED",
        re.compile(
            r"\b(?:never (?:been )?|(?:were|was|have not been|has not been) not )(?:loaded|shipped|delivered|"
            r"dispatched|produced|manufactured)\b",
            re.I,
        ),
    ),
    (
        # Code and software prose: a call "f()", an option "--name" or "-f", a man page "sshd(8)", a Debian bug
        # reference, a chat-API message in a code sample.
        "TECHNICAL",
        re.compile(
            r"\w\(\d?\)|(?<![\w-])(?:--[a-z][\w-]+|-[A-Za-z]{1,2}\b)|\bCloses: #\d|\.(?:py|so|h|sh|js|conf)\b|"
            r"[\"']role[\"']\s*:\s*[\"'](?:system|user|assistant)|\bmessages\s*=\s*\[|\bcompletions\.create\b|`"
        ),
    ),
    (
        "STRIP",
        re.compile(r"\b(?:leave|leaving|left|keep|kept|take|taking|took)\b[^.;:]{1,40}?\b(?:off|out of)\b", re.I),
    ),
)

_AMOUNT = re.compile(
    r"(?:US\$|USD|EUR|GBP|SGD|CHF|AED|\$|\u20ac|\u00a3)\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(million|m\b|bn|billion)?"
    r"|(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(million|billion)?\s*(?:USD|EUR|GBP|SGD|dollars|euros)",
    re.I,
)


def _amounts(text: str) -> list[float]:
    out: list[float] = []
    for m in _AMOUNT.finditer(text):
        num = m.group(1) or m.group(3)
        scale = (m.group(2) or m.group(4) or "").lower()
        try:
            value = float(num.replace(",", ""))
        except ValueError:
            continue
        if scale in ("million", "m"):
            value *= 1e6
        elif scale in ("bn", "billion"):
            value *= 1e9
        out.append(value)
    return out


def read_sentence(text: str) -> SentenceConcepts:
    """Tokens, lemmas, clauses, concept hits, amounts and places of one sentence."""
    tokens: list[_Tok] = []
    starts: list[tuple[tuple[str, tuple[str, ...]], ...]] = []
    clause = 0
    for m in _TOKEN.finditer(text):
        word = m.group()
        if word in (";", ":"):
            clause += 1
            continue
        if word.lower() in _CLAUSE_WORDS:
            clause += 1
        if word.lower() == "no" and text[m.end() : m.end() + 1] == ".":
            tokens.append(_Tok(m.start(), m.end(), frozenset(["no."]), clause))
            starts.append(())
            continue
        lem, cands = _starts(word) if word[0].isalnum() else (frozenset([word]), _INDEX_SYMBOLS.get(word, ()))
        tokens.append(_Tok(m.start(), m.end(), lem, clause))
        starts.append(cands)
    sc = SentenceConcepts(text, tokens)
    hits = sc.hits
    for i, cands in enumerate(starts):
        for name, words in cands:
            n = len(words)
            if n == 1:
                hits.setdefault(name, []).append((i, i + 1))
            elif i + n <= len(tokens) and all(words[k] in tokens[i + k].lemmas for k in range(1, n)):
                hits.setdefault(name, []).append((i, i + n))
    for name, pattern in _REGEX_CONCEPTS:
        for m in pattern.finditer(text):
            first = next((i for i, tok in enumerate(tokens) if tok.start >= m.start()), None)
            if first is not None:
                last = max(first + 1, sum(1 for tok in tokens if tok.end <= m.end()))
                sc.hits.setdefault(name, []).append((first, last))
    if _DIGIT.search(text):
        sc.amounts = _amounts(text)
    if _UPPER.search(text, 1):
        sc.countries = [(p.country, p[2], p[3]) for p in find_places(text)]
    return sc


# --- rules -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConceptRule:
    """A finding as a combination of concept slots (see the module docstring)."""

    id: str
    category: str
    severity: int
    title: str
    why_it_matters: str
    recommendation: str
    slots: tuple[str, ...]
    unless: tuple[str, ...] = ()
    aggravate: tuple[str, ...] = ()
    policy_exempt: bool = True
    check: str | None = None
    """Name of an extra predicate on the sentence (see ``_CHECKS``)."""
    head_polarity: bool = True
    """The first slot must not be denied ("no facilitation payments were made", "gifts ... are not permitted");
    off for rules whose risk is itself a refusal ("the distributor refused to sign")."""


@dataclass(frozen=True, slots=True)
class ConceptHit:
    rule: ConceptRule
    severity: int
    start: int
    end: int
    key: str
    countries: tuple[str, ...] = ()
    deferred: bool = False
    """A transfer abroad with no safeguard stated anywhere near it: kept until the document ends (another sentence
    may name a safeguard for the same destination)."""


_AGGRAVATING = {
    "CASH": "cash",
    "OFFICIAL": "official",
    "RELATIVE": "relative",
    "CONCEAL": "secrecy",
    "OFFSHORE": "offshore",
    "SPECIAL": "special-category data",
    "MIXER": "mixer",
}


def _slot_span(sc: SentenceConcepts, slot: str) -> tuple[int, int] | None:
    for alt in slot.split("|"):
        span = sc.lacking(alt[1:]) if alt.startswith("!") else sc.present(alt)
        if span is not None:
            return span
    return None


def _large(sc: SentenceConcepts) -> bool:
    return any(a >= 10_000 for a in sc.amounts) or any(t.lemmas & {"million", "large", "any"} for t in sc.tokens)


def _profile_gap(sc: SentenceConcepts) -> bool:
    positive = [a for a in sc.amounts if a > 0]
    return len(positive) >= 2 and max(positive) >= 10 * min(positive)


def _near_threshold(sc: SentenceConcepts) -> bool:
    near = [a for a in sc.amounts if 8_000 <= a < 10_000 or 2_500 <= a < 3_000 or 13_000 <= a < 15_000]
    return len(near) >= 2 or (len(near) == 1 and sc.has("MANY"))


def _risky_destination(sc: SentenceConcepts) -> bool:
    return any(cc not in ADEQUATE for cc, _, _ in sc.countries)


def _any_destination(sc: SentenceConcepts) -> bool:
    return bool(sc.countries)


def _personal_data(sc: SentenceConcepts) -> bool:
    if sc.has("PERSONAL") or (sc.has("SUBJECT") and sc.has("THING")):
        return True
    contact = {" ".join(sorted(sc.tokens[a].lemmas)) for a, _ in sc.hits.get("CONTACT", ())}
    return len(contact) >= 2


def _quoted_label(sc: SentenceConcepts) -> bool:
    return re.search(r"['\u2018\"\u201c][^'\u2019\"\u201d]{3,40}['\u2019\"\u201d]", sc.text) is not None


def _not_personal_data(sc: SentenceConcepts) -> bool:
    return not _personal_data(sc)


def _amount_or_deposit(sc: SentenceConcepts) -> bool:
    return bool(sc.amounts) or sc.has("CASH") or "deposit" in sc.text.lower()


def _amount_or_many(sc: SentenceConcepts) -> bool:
    return bool(sc.amounts) or sc.has("MANY") or sc.has("REPORT_FORM") or sc.has("CASH")


_CHECKS: dict[str, Callable[[SentenceConcepts], bool]] = {
    "large": _large,
    "profile_gap": _profile_gap,
    "near_threshold": _near_threshold,
    "risky_destination": _risky_destination,
    "any_destination": _any_destination,
    "personal_data": _personal_data,
    "not_personal_data": _not_personal_data,
    "quoted_label": _quoted_label,
    "amount_or_deposit": _amount_or_deposit,
    "amount_or_many": _amount_or_many,
}


def _r(
    rule_id: str,
    category: str,
    severity: int,
    title: str,
    why: str,
    rec: str,
    slots: Sequence[str],
    unless: Sequence[str] = (),
    aggravate: Sequence[str] = (),
    policy_exempt: bool = True,
    check: str | None = None,
    head_polarity: bool = True,
) -> ConceptRule:
    return ConceptRule(
        rule_id,
        category,
        severity,
        title,
        why,
        rec,
        tuple(slots),
        tuple(unless),
        tuple(aggravate),
        policy_exempt,
        check,
        head_polarity,
    )


_MONEY_AGG = ("CASH", "OFFSHORE", "CONCEAL", "OFFICIAL")
_BRIBERY_CONTEXT = ("BRIBE_WORD", "OFFICIAL", "AGENT")
_ESCALATE_AML = "Ask for the business reason and supporting documents, and escalate to the MLRO for a possible report."
_ESCALATE_ABC = "Stop the payment, ask for the services and evidence behind it, and escalate to the compliance officer."
_EDD = "Complete the missing due diligence before the relationship goes on, and record who approved the exception."

CONCEPT_RULES: tuple[ConceptRule, ...] = (
    # ---- aml
    _r("AML-C-CASH", "aml", 3, "Large or unusual cash payment",
       "Large amounts of cash, or cash paid by or for someone else, are the first stage of laundering: the money "
       "enters the financial system with no trail.",
       _ESCALATE_AML, ("CASH", "PAY"), unless=_BRIBERY_CONTEXT, aggravate=_MONEY_AGG, check="large"),
    _r("AML-C-CASH-3P", "aml", 3, "Cash paid by or for a third party",
       "Cash handed over by or for someone who is not the customer hides who the money belongs to.",
       _ESCALATE_AML, ("CASH", "THIRD_PARTY|SAME_DEST"), unless=_BRIBERY_CONTEXT, aggravate=_MONEY_AGG),
    _r("AML-C-THIRD-PARTY", "aml", 3, "Payment by or to a third party",
       "A payment made by, or diverted to, someone who is not party to the deal breaks the link between the money "
       "and the business: a classic layering step and a common fraud pattern.",
       "Pay and accept payment only to and from the contracting party's own account, or document and approve the "
       "reason for the exception.",
       ("MONEY", "THIRD_PARTY"), aggravate=_MONEY_AGG),
    _r("AML-C-FUNNEL", "aml", 3, "Many payers, one destination (funnel account)",
       "Funds from many unrelated people gathered into one account or person, then moved on, is the funnel-account "
       "pattern of FinCEN's advisories.",
       _ESCALATE_AML, ("MANY", "SAME_DEST"), aggravate=_MONEY_AGG),
    _r("AML-C-STRUCTURING", "aml", 3, "Amounts split to stay under a reporting threshold",
       "Splitting a sum so that each part stays under a reporting or identification threshold is structuring, an "
       "offence in itself in many countries.",
       _ESCALATE_AML, ("SPLIT", "MONEY|CASH"), aggravate=_MONEY_AGG,
       check="amount_or_many"),
    _r("AML-C-NEAR-THRESHOLD", "aml", 3, "Repeated amounts just under a reporting threshold",
       "Several amounts just below a reporting threshold are the footprint of structuring.",
       _ESCALATE_AML, ("PAY|CASH",), aggravate=_MONEY_AGG, check="near_threshold"),
    _r("AML-C-THRESHOLD-QUESTION", "aml", 3, "Customer asks about reporting thresholds",
       "A customer who asks how much can be paid in before a report or form is required is preparing to avoid it.",
       _ESCALATE_AML, ("ASK", "REPORT_FORM", "MONEY|CASH"), check="amount_or_deposit"),
    _r("AML-C-PASS-THROUGH", "aml", 3, "Money in and straight out again",
       "Funds that arrive and leave at once, with no business use in between, are typical of pass-through and "
       "layering accounts.",
       _ESCALATE_AML, ("SAME_DAY", "FLOW_OUT", "MONEY|CASH"), aggravate=_MONEY_AGG),
    _r("AML-C-CONCEAL", "aml", 3, "Payment disguised or its origin hidden",
       "Describing a payment as something else, or moving money to hide where it came from, is laundering by "
       "definition.",
       _ESCALATE_AML, ("CONCEAL", "MONEY|PRICE"), unless=(*_BRIBERY_CONTEXT, "DISCLOSURE", "ROUTE_FIELD"),
       aggravate=("CASH", "OFFSHORE")),
    _r("AML-C-MISLABEL", "aml", 3, "Payment described as something it is not",
       "A payment reference or invoice line that names another purpose than the real one disguises the flow.",
       _ESCALATE_AML, ("LABEL", "CONTRAST|CONCEAL", "PAY|PRICE|GOODS"), unless=_BRIBERY_CONTEXT,
       check="quoted_label"),
    _r("AML-C-TBML-PRICE", "aml", 3, "Goods priced far from their value (trade-based laundering)",
       "Over- or under-invoicing moves value across borders under cover of trade.",
       "Compare the price with market data, ask for the reason and escalate to the MLRO.",
       ("PRICE", "MISPRICE"), unless=("BRIBE_WORD",)),
    _r("AML-C-TBML-PHANTOM", "aml", 3, "Goods invoiced but never shipped",
       "Paperwork for a shipment that never happens (a phantom shipment) moves money with no trade behind it.",
       "Ask for transport documents and verify the shipment independently before paying.",
       ("GOODS|PRICE", "NEVER_SHIPPED|PAPER_ONLY"), unless=("LICENCE",)),
    _r("AML-C-OFFSHORE", "aml", 3, "Offshore company used to hold or move the money",
       "An offshore company with no activity of its own, used to hold assets or route money, hides the owner.",
       _ESCALATE_AML, ("OFFSHORE", "SHELL|CONCEAL|LOAN_BACK|PAY"), unless=("BRIBE_WORD", "OFFICIAL", "AGENT"),
       aggravate=("CONCEAL", "CASH")),
    _r("AML-C-LOAN-BACK", "aml", 3, "Own money lent back (loan-back)",
       "Lending one's own money back through a company is a known way to give laundered funds a legitimate source.",
       _ESCALATE_AML, ("LOAN_BACK",), aggravate=("OFFSHORE",)),
    _r("AML-C-FLIP", "aml", 3, "Asset resold quickly between related parties",
       "Rapid resales at rising prices between related parties inflate value and layer funds.",
       _ESCALATE_AML, ("RESELL", "REPEAT")),
    _r("AML-C-MIXER", "aml", 4, "Virtual assets passed through a mixer or privacy wallet",
       "Mixers and privacy wallets exist to break the chain of custody of virtual assets; FATF treats their use as "
       "a high-risk indicator.",
       "Do not accept or send the funds until their origin is traced, and escalate to the MLRO.", ("MIXER",)),
    _r("AML-C-HAWALA", "aml", 3, "Unlicensed money transfer network",
       "Settling through an unlicensed transfer network (hawala) leaves no record and breaks the law in most "
       "countries.", _ESCALATE_AML, ("UNLICENSED_MSB",)),
    _r("AML-C-PROFILE", "aml", 3, "Activity far above the customer's stated profile",
       "Activity many times higher than the stated or expected level, with no explanation, is a core monitoring "
       "alert.", "Ask for the reason and evidence, update the profile, and escalate if it cannot be explained.",
       ("PROFILE",), check="profile_gap"),
    _r("AML-C-NESTED", "aml", 3, "Other banks using a correspondent account (nesting)",
       "A respondent that lets unreviewed banks use its account exposes the correspondent to their customers.",
       "Identify the nested banks, require their due diligence, or close the access.", ("NESTED", "USE_ACCOUNT")),
    _r("AML-C-BENEFICIARY-CHANGE", "aml", 3, "Beneficiary changed to an unrelated party",
       "Changing who gets paid after the fact, to someone outside the deal, diverts funds.",
       _ESCALATE_AML, ("BENEFICIARY_CHANGE", "THIRD_PARTY")),
    # ---- kyc_cdd
    _r("KYC-C-UBO", "kyc_cdd", 3, "Beneficial owner unknown or not verified",
       "Without knowing who ultimately owns or controls a customer, sanctions, PEP and laundering checks are "
       "blind; identifying the beneficial owner is a core legal duty.",
       _EDD, ("UBO", "UNKNOWN|!IDENTIFY|REFUSE|NOMINEE"), aggravate=("OFFSHORE", "NOMINEE")),
    _r("KYC-C-NOMINEE", "kyc_cdd", 3, "Nominees or bearer shares hide the owner",
       "Nominee directors and bearer shares are the standard tools for hiding ownership.", _EDD, ("NOMINEE",)),
    _r("KYC-C-PEP", "kyc_cdd", 3, "Politically exposed person without enhanced due diligence",
       "A PEP, or a relative of one, needs enhanced due diligence and senior approval; skipping it is a breach.",
       _EDD, ("PEP", "!EDD|SKIP"), aggravate=("RELATIVE",)),
    _r("KYC-C-SOURCE", "kyc_cdd", 3, "Source of funds or wealth not established",
       "Money whose origin is not explained or documented may be the proceeds of crime.",
       _EDD, ("SOURCE", "!IDENTIFY|UNKNOWN|!SHOW|REFUSE")),
    _r("KYC-C-NO-ID", "kyc_cdd", 3, "Identity not verified",
       "Dealing with a customer whose identity was not verified defeats every later check.",
       _EDD, ("ID_DOC", "!IDENTIFY|SKIP|!ID_DOC", "SUBJECT|PARTY|UBO|OPEN|PAY")),
    _r("KYC-C-ID-AFTER", "kyc_cdd", 3, "Account used before identity was verified",
       "Opening or funding an account before the identity documents arrive is a due-diligence failure.",
       _EDD, ("OPEN", "BEFORE", "ID_DOC")),
    _r("KYC-C-SKIP", "kyc_cdd", 3, "Due-diligence checks skipped",
       "Skipping or waiving identity or due-diligence checks, especially as a favour, removes the control.",
       _EDD, ("SKIP", "ID_DOC|EDD")),
    _r("KYC-C-SIMPLIFIED", "kyc_cdd", 3, "Simplified checks on high-risk customers",
       "High-risk customers need enhanced, not simplified, due diligence.", _EDD, ("SIMPLIFIED", "HIGH_RISK")),
    _r("KYC-C-ADDRESS", "kyc_cdd", 2, "Address is a PO box, virtual office or agent",
       "An address that is only a mail drop does not show where the customer is or operates.", _EDD,
       ("ADDRESS|UBO", "PO_BOX")),
    _r("KYC-C-SHELL", "kyc_cdd", 3, "Customer looks like a shell company",
       "A company with no staff, premises or trading history may exist only to hold or move money.", _EDD,
       ("SHELL",), aggravate=("OFFSHORE",)),
    _r("KYC-C-PURPOSE", "kyc_cdd", 3, "Customer will not explain the purpose",
       "A customer who refuses to say what the account or deal is for gives nothing to monitor against.", _EDD,
       ("REFUSE", "PURPOSE|IDENTIFY", "SUBJECT|PARTY|UBO|AGENT"), head_polarity=False),
    _r("KYC-C-PROFILE-MISMATCH", "kyc_cdd", 3, "Activity does not match the stated business",
       "Payments that do not fit the stated business are a sign the account is used for something else.", _EDD,
       ("PROFILE", "CONTRAST", "PAY")),
    # ---- sanctions
    _r("SAN-C-STRIP", "sanctions", 5, "Sanctions evasion: details removed or disguised",
       "Leaving out or disguising names, ports or destinations so that a bank or carrier does not stop a "
       "transaction is the conduct behind most OFAC stripping cases; doing it knowingly is itself a violation.",
       "Stop the transaction, do not follow the request, preserve the records and escalate to the sanctions "
       "officer.", ("STRIP", "DOC_FIELD", "BANK_ROUTE|SANCTIONED")),
    _r("SAN-C-LISTED", "sanctions", 5, "Party matches a sanctions list",
       "A counterparty, owner or beneficiary that matches a sanctions list may not be dealt with until the match is "
       "cleared; releasing the payment anyway may be a violation.",
       "Hold the transaction, resolve the match with identifiers, and escalate to the sanctions officer.",
       ("LIST_HIT", "PARTY|PROCEED"), unless=("FALSE_POSITIVE",)),
    _r("SAN-C-PLACE", "sanctions", 4, "Goods or money going to a sanctioned area",
       "Goods, services or money reaching a sanctioned country or region, directly or through a third country, "
       "need a licence or are banned.",
       "Stop and screen the route, the end user and the goods; do not proceed without a licence or legal opinion.",
       ("SANCTIONED", "SHIP|PAY|TRANSSHIP"), aggravate=("MILITARY", "CONCEAL"), check="not_personal_data"),
    _r("SAN-C-DESIGNATED", "sanctions", 5, "Dealing involving a designated organisation",
       "The document names, or nearly names, an organisation designated under US, EU or UN sanctions or "
       "terrorism lists; making funds, goods or services available to it is prohibited.",
       "Stop and escalate to the sanctions officer; resolve the match against the consolidated lists.",
       ("DESIGNATED", "PAY|SHIP|PARTY|LIST_HIT|TRANSFER|BENEFIT|GOODS"), unless=("FALSE_POSITIVE",)),
    _r("SAN-C-EXCEPTION", "sanctions", 4, "Sanctions controls waived for a customer",
       "A business exception that skips the licence or screening review for a sanctioned destination removes the "
       "control where it matters most.", "Withdraw the exception; every such order needs the licence review.",
       ("EXCEPTION", "SANCTIONED", "!LICENCE_REVIEW")),
    _r("SAN-C-VESSEL", "sanctions", 4, "Vessel behaviour typical of sanctions evasion",
       "Transponders switched off and transfers between ships at sea are the deceptive shipping practices of "
       "OFAC's maritime advisories.", "Screen the vessels and cargo history, and escalate before financing or "
       "insuring the voyage.", ("EVADE_SHIP", "SHIP|GOODS|SANCTIONED|TRANSFER")),
    # ---- bribery
    _r("ABC-C-OFFICIAL-BENEFIT", "bribery_corruption", 4, "Benefit to a public official or a relative",
       "Money, gifts, trips or jobs for an official, or an official's relative, around a decision they influence "
       "is the core of the FCPA and UK Bribery Act offences.", _ESCALATE_ABC,
       ("OFFICIAL", "BENEFIT"), aggravate=("CASH", "RELATIVE", "CONCEAL", "OFFSHORE")),
    _r("ABC-C-BRIBE", "bribery_corruption", 4, "Bribe, kickback or facilitation payment",
       "Kickbacks and facilitation payments are bribes; most anti-bribery laws make no exception for small ones.",
       _ESCALATE_ABC, ("BRIBE_WORD",), aggravate=("CASH", "OFFICIAL", "CONCEAL")),
    _r("ABC-C-AGENT-REFERRED", "bribery_corruption", 4, "Agent recommended by an official",
       "An intermediary suggested by the official who decides is a classic FCPA third-party red flag.",
       _ESCALATE_ABC, ("AGENT", "RECOMMEND", "OFFICIAL")),
    _r("ABC-C-RELATED-AGENT", "bribery_corruption", 4, "Intermediary related to a decision-maker",
       "An agent or bidder who is a relative of the official deciding is a conflict that invites corruption.",
       _ESCALATE_ABC, ("AGENT", "RELATIVE", "OFFICIAL")),
    _r("ABC-C-INFLUENCE", "bribery_corruption", 4, "Paid for influence over a decision",
       "Paying for someone's influence with officials, rather than for work, is trading in influence.",
       _ESCALATE_ABC, ("INFLUENCE", "DECISION")),
    _r("ABC-C-SUCCESS-FEE", "bribery_corruption", 3, "Success fee tied to a government decision",
       "A fee payable only if a licence or contract is won gives the intermediary a reason to pay officials.",
       _ESCALATE_ABC, ("SUCCESS_FEE|CONDITIONAL", "DECISION", "PAY|BENEFIT"), aggravate=("OFFSHORE", "CASH")),
    _r("ABC-C-AGENT-UNDOCUMENTED", "bribery_corruption", 3, "Intermediary paid without documented work",
       "Fees with no description of the services, reports or timesheets are how bribes are paid through agents.",
       _ESCALATE_ABC, ("AGENT|BRIBE_WORD", "!REPORTING"), aggravate=("CASH", "OFFSHORE")),
    _r("ABC-C-REFUSES-COMPLIANCE", "bribery_corruption", 3, "Third party refuses anti-corruption commitments",
       "An intermediary that will not sign anti-corruption clauses or answer due diligence is a red flag.",
       _ESCALATE_ABC, ("REFUSE|!IDENTIFY", "COMPLIANCE_DOC"), head_polarity=False),
    _r("ABC-C-DISGUISED", "bribery_corruption", 4, "Payment to an intermediary or official disguised",
       "A payment booked under a false label, in cash, to an agent or official is how bribes are hidden.",
       _ESCALATE_ABC, ("AGENT|OFFICIAL|BRIBE_WORD", "CONCEAL|CASH", "PAY|BENEFIT"), check="quoted_label"),
    # ---- cross_border
    _r("XB-TRANSFER", "cross_border", 3, "Personal data sent abroad without a safeguard",
       "GDPR chapter V and PDPA section 26 allow a transfer to a country without adequate protection only with a "
       "safeguard (standard contractual clauses, binding corporate rules, a comparable-protection contract); none "
       "is stated for this one.",
       "Name the destination and put a transfer mechanism in place (SCCs, BCRs, adequacy) with a transfer impact "
       "assessment before data is sent.",
       ("TRANSFER",), unless=("LOCAL",), check="personal_data"),
    # ---- data_protection
    _r("DP-C-SELL", "data_protection", 3, "Personal data sold or passed to third parties",
       "Selling or sharing personal data with advertisers, insurers or others needs a lawful basis and clear "
       "information; hidden sharing is among the most fined GDPR failings.",
       "Stop the sharing until a lawful basis, notice and opt-out or consent are in place.",
       ("SELL", "RECIPIENT_3P"), aggravate=("SPECIAL",), check="personal_data"),
    _r("DP-C-PURPOSE", "data_protection", 3, "Personal data reused for another purpose",
       "Data collected for one purpose may not be reused for an incompatible one (purpose limitation).",
       "Assess compatibility, inform the people concerned, or get consent before reuse.",
       ("REPURPOSE",), aggravate=("SPECIAL",), check="personal_data"),
    _r("DP-C-RETENTION", "data_protection", 3, "Personal data kept without a time limit",
       "Storage limitation: personal data may be kept only as long as needed for its purpose.",
       "Set and apply a retention period for each kind of record.", ("KEEP|THING|PERSONAL", "FOREVER"),
       aggravate=("SPECIAL",), check="personal_data"),
    _r("DP-C-ERASURE", "data_protection", 3, "Requests to erase or access data refused",
       "People have the right to access and, in most cases, erase their data; refusing requests is a breach.",
       "Set up a process to answer access and erasure requests within a month.",
       ("ERASE_REQ", "!HONOUR|FOREVER", "SUBJECT|PERSONAL|REQUEST")),
    _r("DP-C-NO-NOTICE", "data_protection", 3, "Personal data used without telling or asking people",
       "Collecting or using personal data without informing people or getting consent where needed breaches "
       "transparency and lawfulness.", "Inform people, and get consent where it is the legal basis.",
       ("PROCESS|SELL|KEEP|TRANSFER", "!INFORM"), aggravate=("SPECIAL",), check="personal_data"),
    _r("DP-C-DEFAULT-CONSENT", "data_protection", 3, "Consent assumed, not given",
       "Pre-ticked boxes or 'by visiting you agree' are not valid consent.", "Use unticked boxes and record real "
       "consent.", ("DEFAULT_TICK",), check="personal_data"),
    _r("DP-C-OPT-OUT", "data_protection", 3, "Objection or opt-out ignored",
       "Marketing to people who opted out breaches their right to object.", "Clean the lists against opt-outs "
       "before every campaign.", ("OPTED_OUT", "ANYWAY|PROCESS")),
    _r("DP-C-SPECIAL", "data_protection", 3, "Special-category data handled without protection",
       "Health, biometric, religious, union or criminal data, and children's data, need a specific legal basis "
       "and strict access control.", "Restrict access, document the legal basis and carry out a DPIA.",
       ("SPECIAL", "PROCESS|KEEP|SELL|TRANSFER", "EXPOSED|!INFORM|!CONSENT_OK"), unless=("CONSENT_OK",)),
    _r("DP-C-BREACH-LATE", "data_protection", 3, "Breach notified late or not at all",
       "A personal-data breach must be notified to the authority within 72 hours and to affected people without "
       "undue delay when the risk is high.", "Notify now and fix the incident process.",
       ("BREACH", "LATE|!NOTIFY", "PERSONAL|SUBJECT|REGULATOR")),
    _r("DP-C-NO-DPO", "data_protection", 2, "No one responsible for data protection",
       "Organisations that must have a DPO and have none cannot answer requests or supervise compliance.",
       "Appoint a DPO or a named person responsible.", ("!DPO",)),
    # ---- financial_regulation
    _r("FIN-C-GUARANTEE", "financial_regulation", 4, "Guaranteed or risk-free returns promised",
       "Promising fixed or risk-free returns on an investment is misleading and a hallmark of Ponzi schemes.",
       "Remove the promise, add the risk warnings, and check the product is authorised.",
       ("RETURN|PAY|FIN_ACTIVITY", "GUARANTEE", "INVEST")),
    _r("FIN-C-PYRAMID", "financial_regulation", 4, "Rewards for recruiting investors",
       "Paying investors for bringing in new money is the mechanism of a pyramid scheme.",
       "Do not offer or join the scheme; report it to the regulator.", ("PYRAMID_BONUS", "RECRUIT")),
    _r("FIN-C-COMMINGLE", "financial_regulation", 4, "Client money mixed with personal money",
       "Client funds must be segregated; pooling them in a director's account exposes them to loss and fraud.",
       "Segregate client money in a designated account and reconcile it.", ("POOL", "OWN_ACCOUNT")),
    _r("FIN-C-UNLICENSED", "financial_regulation", 4, "Regulated activity without a licence",
       "Offering investments, credit, deposits or crypto services to the public without authorisation is a "
       "criminal offence in most countries.", "Confirm the authorisation on the regulator's register before "
       "dealing.", ("!LICENCE", "FIN_ACTIVITY"), unless=("EXEMPT",)),
    _r("FIN-C-NO-DISCLOSURE", "financial_regulation", 3, "Required disclosure withheld",
       "Consumers must be shown the cost of credit and the risks of an investment before they commit.",
       "Give the required disclosures before the contract is signed.", ("DISCLOSURE", "!SHOW")),
    # ---- risk_management
    _r("RM-C-UNLIMITED", "risk_management", 3, "Unlimited liability or indemnity",
       "An uncapped liability or indemnity exposes the company to losses with no ceiling.",
       "Negotiate a cap (e.g. the fees of 12 months) and standard carve-outs only.", ("LIABLE", "UNLIMITED"),
       unless=("CARVE_OUT",)),
    _r("RM-C-NO-AUDIT", "risk_management", 3, "No right to audit",
       "Without audit or inspection rights the company cannot check a supplier or target it is accountable for.",
       "Add audit and information rights proportionate to the risk.", ("!AUDIT_RIGHT", "ROLE")),
    _r("RM-C-AUDIT-WAIVED", "risk_management", 3, "Audit right waived",
       "A waived audit right leaves the company unable to check the other party.",
       "Keep audit and information rights proportionate to the risk.", ("WAIVE", "AUDIT_RIGHT")),
    _r("RM-C-UNILATERAL", "risk_management", 3, "Terms changed unilaterally",
       "A party that can change prices, scope or terms at will leaves the other with no control over the deal.",
       "Require notice and consent for changes, with a right to terminate.",
       ("CHANGE", "TERMS", "UNILATERAL|!NOTICE")),
    _r("RM-C-AUTORENEW", "risk_management", 3, "Automatic renewal without a way out",
       "Silent automatic renewal, with no reminder or termination window, locks the company in.",
       "Require a renewal reminder and a termination window before each renewal.",
       ("RENEW", "RENEW_TRAP|!NOTICE|!TERMINATE")),
    _r("RM-C-NO-EXIT", "risk_management", 3, "No right to terminate",
       "A contract that cannot be ended leaves the company bound whatever the other party does.",
       "Negotiate termination for breach and for convenience with notice.", ("!TERMINATE", "ROLE")),
    _r("RM-C-SUBCONTRACT", "risk_management", 3, "Subcontracting without consent",
       "Work or data handed to unknown subcontractors escapes the contract's controls.",
       "Require prior written consent for subcontractors and flow-down of obligations.",
       ("SUBCONTRACT", "!NOTICE|!INFORM")),
    _r("RM-C-NO-REMEDY", "risk_management", 2, "No remedy for poor service",
       "Without service levels, penalties or remedies, failures cost the supplier nothing.",
       "Add service levels with credits or penalties and a termination right.", ("!REMEDY|STOP_SERVICE",)),
    # ---- document_integrity
    _r("DI-C-INJECTION", "document_integrity", 4, "Text addressed to an automated reviewer (prompt injection)",
       "The document contains instructions aimed at an AI or automated reviewer; a genuine business document has "
       "no reason to do this, and it may be an attempt to hide other problems. The instruction was ignored.",
       "Treat the document as suspicious, review it manually in full, and ask the sender why it contains the "
       "instruction.", ("AI_ADDRESSEE", "INSTRUCT", "VERDICT"), policy_exempt=False),
)  # fmt: skip


def _needed(rule: ConceptRule) -> tuple[frozenset[str], ...]:
    """For each slot, the concepts one of which must occur for the slot to be filled."""
    return tuple(frozenset(alt.lstrip("!") for alt in slot.split("|")) for slot in rule.slots)


def _applies(rule: ConceptRule, sc: SentenceConcepts) -> list[tuple[int, int]] | None:
    spans: list[tuple[int, int]] = []
    for slot in rule.slots:
        span = _slot_span(sc, slot)
        if span is None:
            return None
        spans.append(span)
    lack_rule = any("!" in slot for slot in rule.slots)
    if rule.head_polarity and not lack_rule and (sc.action_denied(spans[0][0]) or sc.forbidden(spans[0][0])):
        return None
    if any(sc.present(u) is not None for u in rule.unless):
        return None
    if rule.check is not None and not _CHECKS[rule.check](sc):
        return None
    return spans


def _severity(rule: ConceptRule, sc: SentenceConcepts) -> int:
    factors = [c for c in rule.aggravate if sc.present(c) is not None]
    if rule.category in ("aml", "kyc_cdd") and _profile_gap(sc):
        factors.append("profile")
    bump = (1 if factors else 0) + (1 if len(factors) >= 3 else 0)
    return min(5, rule.severity + bump)


def _plan(rules: tuple[ConceptRule, ...]) -> tuple[dict[str, list[int]], list[tuple[frozenset[str], ...]]]:
    """Rules by the concepts of their first slot, and every rule's slots as concept sets."""
    by_concept: dict[str, list[int]] = {}
    needed = [_needed(rule) for rule in rules]
    for n, slots in enumerate(needed):
        for concept in slots[0]:
            by_concept.setdefault(concept, []).append(n)
    return by_concept, needed


def _candidates(rules: Iterable[ConceptRule], present: Iterable[str]) -> list[ConceptRule]:
    """The rules whose every slot has one of its concepts in the sentence, in table order."""
    table = rules if isinstance(rules, tuple) else tuple(rules)
    by_concept, needed = _DEFAULT_PLAN if table is CONCEPT_RULES else _plan(table)
    keys = set(present)
    numbers = sorted({n for c in keys for n in by_concept.get(c, ())})
    return [table[n] for n in numbers if all(not slot.isdisjoint(keys) for slot in needed[n])]


_DEFAULT_PLAN = _plan(CONCEPT_RULES)


def match_rules(
    sc: SentenceConcepts,
    rules: Iterable[ConceptRule] = CONCEPT_RULES,
    sanctioned: bool = False,
    designated: bool = False,
) -> list[ConceptHit]:
    """The concept rules that fire on a sentence, one hit per rule.

    ``sanctioned``: the sentence names a sanctioned place; ``designated``: a designated organisation (both found
    by the caller, from the data files).
    """
    if sanctioned and sc.tokens:
        sc.hits.setdefault("SANCTIONED", [(0, 1)])
    if designated and sc.tokens:
        sc.hits.setdefault("DESIGNATED", [(0, 1)])
    if not sc.tokens:
        return []
    policy = sc.has("POLICY")
    if sc.has("BOILERPLATE") or sc.has("TECHNICAL"):
        return []  # licence and warranty boilerplate, software documentation: not a deal
    out: list[ConceptHit] = []
    present = sc.hits.keys()
    for rule in _candidates(rules, present):
        if policy and rule.policy_exempt:
            continue
        spans = _applies(rule, sc)
        if spans is None:
            continue
        start, end = sc.char_span(spans[0])
        if rule.category == "cross_border":
            transfer = _transfer_hit(rule, sc, start, end)
            if transfer is not None:
                out.append(transfer)
            continue
        key = " ".join(sorted({min(sc.tokens[a].lemmas, key=lambda w: (len(w), w)) for a, _ in spans}))
        out.append(ConceptHit(rule, _severity(rule, sc), start, end, key))
    return out


def _transfer_hit(rule: ConceptRule, sc: SentenceConcepts, start: int, end: int) -> ConceptHit | None:
    """A transfer abroad: where to, and whether its safeguard is missing, stated, or not mentioned at all."""
    abroad = sc.present("ABROAD") is not None
    if not sc.countries and not abroad:
        return None
    safeguard = sc.present("SAFEGUARD")
    lacking = sc.lacking("SAFEGUARD")
    if safeguard is not None and lacking is None:
        return None  # a safeguard attached to this very transfer
    countries = tuple(sorted({cc for cc, _, _ in sc.countries} | ({"abroad"} if abroad else set())))
    risky = any(cc not in ADEQUATE for cc in countries)
    if lacking is None and not risky:
        return None
    special = sc.present("SPECIAL") is not None or (sc.present("PERSONAL") is not None and sc.has("SPECIAL"))
    severity = rule.severity + (1 if lacking is not None or special else 0)
    return ConceptHit(rule, severity, start, end, " ".join(countries), countries, deferred=lacking is None)
