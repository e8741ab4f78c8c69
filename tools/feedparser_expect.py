#!/usr/bin/env python3
"""Score wiredesk's parse of feedparser's test corpus against the corpus's own `Expect:` lines.

    python3 tools/feedparser_expect.py CORPUS_TESTS_DIR RESULTS.jsonl [--failures N] [--json OUT]

RESULTS.jsonl has one line per corpus file, written by tests/feedparser_corpus.rs: the file's path relative
to CORPUS_TESTS_DIR, whether wiredesk parsed it, and the feed and entries as wiredesk normalised them. This
script reads each file's `Expect:` (and `SkipUnless:`) header, splits the expression at its top-level `and`s,
and evaluates every term that checks a comparable field against a feedparser-shaped dict built from
wiredesk's result.

Comparable fields and how they are compared:
- feed title, entry title, summary/content: wiredesk keeps these as plain text, so feedparser's value is
  turned into text first (its HTML parsed and its tags dropped when the element was HTML; white space
  folded). Exact: the texts are equal. Lenient: equal after case folding and dropping everything but
  letters and digits, or one contains the other.
- feed link, entry link, entry id, entry author (name, email, url; `author` is "name (email)" as feedparser
  builds it): the strings are equal. Lenient: equal after trimming a trailing slash and case folding.
- entry date (`*_parsed` tuples, and the raw `published`/`updated`/`created` strings, which are compared as
  the instant feedparser's own date parser reads from them, since wiredesk keeps instants, not strings).

It also counts documents that feedparser reads without `bozo` but wiredesk refused, and prints the table.
Exit status 0; the Rust test decides what to refuse from the --json summary.
"""
import ast
import calendar
import collections
import html.parser
import json
import os
import re
import sys
import time

CATEGORIES = [
    "feed title",
    "feed link",
    "entry title",
    "entry link",
    "entry id",
    "entry date",
    "entry author",
    "entry summary / content (text)",
]

DATE_KEYS = {"published_parsed", "updated_parsed", "created_parsed", "published", "updated", "created"}


def read_header(path):
    """The `Expect:` and `SkipUnless:` values of a corpus file, decoding UTF-16/32 and EBCDIC first."""
    data = open(path, "rb").read()
    for enc, prefix in [
        ("utf-32-be", b"\x00\x00\x00<"), ("utf-32-le", b"<\x00\x00\x00"), ("utf-32", b"\x00\x00\xfe\xff"),
        ("utf-32", b"\xff\xfe\x00\x00"), ("utf-16-be", b"\x00<\x00?"), ("utf-16-le", b"<\x00?\x00"),
        ("utf-16", b"\xfe\xff"), ("utf-16", b"\xff\xfe"), ("cp037", b"\x4c\x6f\xa7\x94"), ("utf-8-sig", b"\xef\xbb\xbf"),
    ]:
        if data.startswith(prefix):
            text = data.decode(enc, "replace")
            break
    else:
        text = data.decode("utf-8", "replace")
    m = re.search(r"Description:\s*(.*?)\s*Expect:\s*(.*)\s*-->", text)
    skip = re.search(r"SkipUnless:\s*(.*?)\n", text)
    return (m.group(2).strip() if m else None), (skip.group(1).strip() if skip else None)


class _Text(html.parser.HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "head", "iframe", "object", "svg"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        self.out.append(" ")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data)


def fold(s):
    return " ".join(s.replace("\xa0", " ").split())


def html_text(s):
    p = _Text()
    p.feed(s)
    p.close()
    return fold("".join(p.out))


def loose(s):
    return "".join(c for c in s.casefold() if c.isalnum())


def tm(iso):
    """An RFC 3339 instant as feedparser's 9-tuple in UTC."""
    if not iso:
        return None
    t = time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")
    return tuple(time.gmtime(calendar.timegm(t)))


def build(record):
    """feedparser-shaped `feed` and `entries` from one wiredesk result."""
    f = record.get("feed") or {}
    feed = {}
    if f.get("title") is not None:
        feed["title"] = f["title"]
        feed["title_detail"] = {"value": f["title"], "type": f.get("title_type")}
    if f.get("site_url"):
        feed["link"] = f["site_url"]
    entries = []
    for e in record.get("entries") or []:
        d = {"id": e.get("guid"), "guid": e.get("guid"), "title": e.get("title"),
             "title_detail": {"value": e.get("title"), "type": e.get("title_type")}}
        if e.get("url"):
            d["link"] = e["url"]
        published = e.get("published") if e.get("date_from_feed") else None
        if published:
            d["published_parsed"] = tm(published)
            d["published"] = published
        updated = e.get("updated") or published
        if updated:
            d["updated_parsed"] = tm(updated)
            d["updated"] = updated
        # wiredesk keeps no separate creation date: Atom 0.3 <created> and dcterms:created are its
        # publication date when nothing else gives one, so feedparser's `created` is compared with that.
        if published:
            d["created_parsed"] = tm(published)
            d["created"] = published
        authors = []
        for a in e.get("authors") or []:
            detail = {k: v for k, v in (("name", a.get("name")), ("email", a.get("email")), ("url", a.get("uri")), ("href", a.get("uri"))) if v}
            authors.append(detail)
        if authors:
            a = authors[0]
            d["author_detail"] = a
            d["authors"] = authors
            if a.get("name") and a.get("email"):
                d["author"] = f"{a['name']} ({a['email']})"
            else:
                d["author"] = a.get("name") or a.get("email")
        d["summary"] = d["description"] = e.get("summary_text", e.get("summary"))
        d["summary_detail"] = {"value": d["summary"], "type": e.get("summary_type")}
        d["_summary_is_html"] = e.get("summary_is_html", True) is not False
        d["content"] = [{"value": e.get("content_text", ""), "type": e.get("content_type")}]
        entries.append(d)
    return feed, entries


def path_of(node):
    """The subscript path of `feed[...]...` or `entries[N][...]...`, or None."""
    keys = []
    while isinstance(node, ast.Subscript):
        sl = node.slice
        if not isinstance(sl, ast.Constant):
            return None
        keys.append(sl.value)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in ("feed", "entries"):
        return None
    return [node.id] + list(reversed(keys))


def category(path):
    if path[0] == "feed":
        k = path[1:]
        if k in (["title"], ["title_detail", "value"]):
            return "feed title"
        if k == ["link"]:
            return "feed link"
        return None
    if len(path) < 3 or not isinstance(path[1], int):
        return None
    k = path[2:]
    if k in (["title"], ["title_detail", "value"]):
        return "entry title"
    if k == ["link"]:
        return "entry link"
    if k in (["id"], ["guid"]):
        return "entry id"
    if len(k) == 1 and k[0] in DATE_KEYS:
        return "entry date"
    if k == ["author"] or (k[0] in ("author_detail",) and len(k) == 2 and k[1] in ("name", "email", "url", "href")) \
            or (k[0] == "authors" and len(k) == 3 and k[2] in ("name", "email", "url", "href")):
        return "entry author"
    if k in (["summary"], ["description"], ["summary_detail", "value"], ["content", 0, "value"]):
        return "entry summary / content (text)"
    return None


def text_kind(cat, path, entries, feed):
    """Whether feedparser's value for this field is HTML (to be turned into text) or already text."""
    if cat == "entry summary / content (text)":
        # A summary wiredesk reads as plain text (Atom type="text", base64 media types, JSON Feed) is
        # compared as written; everything else as the text of its HTML.
        if path[0] == "entries" and path[2] in ("summary", "description", "summary_detail"):
            try:
                return entries[path[1]]["_summary_is_html"]
            except (KeyError, IndexError, TypeError):
                return True
        return True
    try:
        if cat == "feed title":
            t = feed["title_detail"]["type"]
        else:
            t = entries[path[1]]["title_detail"]["type"]
    except (KeyError, IndexError, TypeError):
        t = None
    return t != "text/plain"


def terms_of(expr):
    tree = ast.parse(expr, mode="eval").body
    if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And):
        return tree.values
    return [tree]


def evaluate(record, expect, fp_date):
    feed, entries = build(record)
    env = {"feed": feed, "entries": entries}
    checks = []
    for term in terms_of(expect):
        if not (isinstance(term, ast.Compare) and len(term.ops) == 1 and isinstance(term.ops[0], ast.Eq)):
            continue
        path = path_of(term.left)
        if path is None:
            continue
        cat = category(path)
        if cat is None:
            continue
        try:
            expected = eval(compile(ast.Expression(term.comparators[0]), "<expect>", "eval"), {"datetime": __import__("datetime")})
        except Exception:
            continue
        try:
            ours = eval(compile(ast.Expression(term.left), "<expect>", "eval"), {}, env)
        except (KeyError, IndexError, TypeError):
            ours = None
        exact = lenient = False
        if cat == "entry date":
            if isinstance(expected, str):
                expected = fp_date(expected)
                key = path[-1]
                ours = tm(ours) if isinstance(ours, str) else ours
                if key in ("published", "updated", "created"):
                    ours = entries[path[1]].get(key + "_parsed") if ours is not None else None
            if isinstance(expected, (tuple, time.struct_time)) and ours is not None:
                exact = lenient = tuple(ours)[:6] == tuple(expected)[:6]
        elif cat in ("feed title", "entry title", "entry summary / content (text)"):
            if isinstance(expected, str) and ours is None:
                ours = ""  # no element and an element with no text both read as no text
            if isinstance(expected, str) and isinstance(ours, str):
                want = html_text(expected) if text_kind(cat, path, entries, feed) else fold(expected)
                exact = fold(ours) == want
                a, b = loose(ours), loose(want)
                lenient = exact or a == b or (bool(a) and bool(b) and (a in b or b in a))
        else:
            if isinstance(expected, str) and isinstance(ours, str):
                exact = ours == expected
                lenient = exact or ours.rstrip("/").casefold() == expected.rstrip("/").casefold()
        checks.append({"category": cat, "exact": exact, "lenient": lenient,
                       "term": ast.unparse(term), "ours": repr(ours)[:160]})
    return checks


def main(argv):
    root, results = argv[1], argv[2]
    show = int(argv[argv.index("--failures") + 1]) if "--failures" in argv else 0
    out_json = argv[argv.index("--json") + 1] if "--json" in argv else None
    try:
        from feedparser.datetimes import _parse_date as fp_date
    except ImportError:
        fp_date = None
    if fp_date is None:
        def fp_date(s):
            return None
    tally = collections.defaultdict(lambda: [0, 0, 0])
    failures = collections.defaultdict(list)
    refused = []
    slow = []
    files = 0
    for line in open(results, encoding="utf-8"):
        record = json.loads(line)
        path = os.path.join(root, record["path"])
        expect, skip = read_header(path)
        if not expect:
            continue
        if skip:
            try:
                if not eval(skip):
                    continue
            except Exception:
                continue
        files += 1
        if record.get("elapsed_ms", 0) > 100:
            slow.append(record["path"])
        if expect.startswith("not bozo") and not record.get("ok"):
            refused.append(f"{record['path']}: {record.get('error')}")
        for c in evaluate(record, expect, fp_date):
            t = tally[c["category"]]
            t[0] += 1
            t[1] += c["exact"]
            t[2] += c["lenient"]
            if not c["exact"]:
                failures[c["category"]].append(f"{record['path']}: {c['term']}  (wiredesk: {c['ours']})")
    total = [sum(tally[c][i] for c in CATEGORIES) for i in range(3)]
    pct = lambda n, d: 100.0 * n / d if d else 100.0
    print(f"{'category':<34} {'checks':>6} {'exact':>8} {'lenient':>8}")
    for c in CATEGORIES:
        n, e, l = tally[c]
        print(f"{c:<34} {n:>6} {pct(e, n):>7.1f}% {pct(l, n):>7.1f}%")
    print(f"{'all':<34} {total[0]:>6} {pct(total[1], total[0]):>7.1f}% {pct(total[2], total[0]):>7.1f}%")
    print(f"{files} files with an Expect line; {len(refused)} that feedparser reads without bozo were refused; "
          f"{len(slow)} took over 100 ms")
    for r in refused[:show or 20]:
        print("  refused:", r)
    if show:
        for c in CATEGORIES:
            for f in failures[c][:show]:
                print(f"  [{c}] {f}")
    if out_json:
        with open(out_json, "w") as f:
            json.dump({"categories": {c: dict(zip(("checks", "exact", "lenient"), tally[c])) for c in CATEGORIES},
                       "total": dict(zip(("checks", "exact", "lenient"), total)),
                       "refused": refused, "slow": slow, "files": files}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
