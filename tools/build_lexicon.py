#!/usr/bin/env python3
"""build_lexicon.py - derive wiredesk's compact synonym lexicon from WordNet 3.0.

Reads Debian's `wordnet-base` files (/usr/share/wordnet: data.*, index.*, *.exc, cntlist.rev)
and writes `data/lexicon.bin`, which `src/dedup/similar/lexicon.rs` embeds with `include_bytes!`.
Python 3 standard library only; the output is byte-for-byte deterministic for the same input.

What is kept (single-word, purely alphabetic lemmas only: the tokenizer never produces more):
  * the vocabulary, with a part-of-speech mask per lemma (for WordNet "morphy" lemmatisation);
    hyphenated lemmas are kept joined ("cease-fire" -> "ceasefire"), as the tokenizer splits
    on hyphens and news text often writes them solid;
  * the morphological exception lists (*.exc), e.g. "ran -> run", "mice -> mouse";
  * per lemma, its concept keys: key = 2 * synset_index + flag, where
      flag 0 ("own")     = a synset the lemma belongs to, or the head of its adjective cluster;
      flag 1 ("related") = a synset one pointer away: hypernym (@, @i), also-see (^), verb group
                           ($), attribute (=), domain (;c ;r ;u), pertainym (\) and the
                           pertainym's hypernyms.
    Two words are related when they share a synset index that is "own" for at least one of them.
    (Two "related" keys alone would make siblings such as Monday/Tuesday match via "weekday".)
  * per lemma, a frequency class round(log2(1 + SemCor tag count)) from cntlist.rev, used as an
    IDF prior before any items have been seen.

File layout (all integers little-endian; "varint" = LEB128 unsigned):
  magic  b"WDLEX1\\n"
  u32    n_words, u32 n_exc, u32 n_synsets
  words: n_words lemmas, sorted by bytes, each terminated by b"\\n"
  pos:   n_words bytes (bit 0 noun, 1 verb, 2 adj, 3 adv)
  freq:  n_words bytes (frequency class 0..15)
  keys:  per word: varint count, then the sorted keys as varint deltas (first delta from 0)
  exc:   n_exc lines "inflected base pos\\n" (pos one of n v a r), sorted
Usage: python3 tools/build_lexicon.py [--wordnet /usr/share/wordnet] [--out data/lexicon.bin]
"""

import argparse
import math
import os
import re
import struct
import sys

POS_FILES = (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv"))
POS_BIT = {"n": 1, "v": 2, "a": 4, "s": 4, "r": 8}
WORD_OK = re.compile(r"^[a-z]+$")
RELATED_PTRS = {"@", "@i", "^", "$", "=", ";c", ";r", ";u"}
# Pertainyms ("lunar" -> moon) are followed one step further, to the target's hypernyms
# ("satellite"): thesauri list those as related terms of the adjective.
PERTAINYM = "\\"


def varint(n, out):
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def read_synsets(wn):
    """-> (synsets dict (pos, offset) -> (ss_type, [words], [(ptr, (pos, offset))]), ordered keys)"""
    synsets = {}
    for pos, name in POS_FILES:
        with open(os.path.join(wn, f"data.{name}"), encoding="latin-1") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                p = line.split(" | ", 1)[0].split()
                off, ss_type = int(p[0]), p[2]
                wcnt = int(p[3], 16)
                words = [re.sub(r"\(.*\)$", "", p[4 + 2 * k]).lower() for k in range(wcnt)]
                i = 4 + 2 * wcnt
                pcnt = int(p[i])
                ptrs = []
                for k in range(pcnt):
                    sym, toff, tpos = p[i + 1 + 4 * k], int(p[i + 2 + 4 * k]), p[i + 3 + 4 * k]
                    tpos = "a" if tpos == "s" else tpos
                    ptrs.append((sym, (tpos, toff)))
                synsets[(pos, off)] = (ss_type, words, ptrs)
    order = sorted(synsets, key=lambda k: ("nvar".index(k[0]), k[1]))
    return synsets, order


def read_index(wn):
    """-> {lemma: (pos_mask, [(pos, offset), ...] in sense order)} for single-word alphabetic lemmas"""
    out, joined = {}, {}
    for pos, name in POS_FILES:
        with open(os.path.join(wn, f"index.{name}"), encoding="latin-1") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                p = line.split()
                lemma = p[0].lower()
                target = out
                # "cease-fire" is also written "ceasefire": keep the joined spelling (the
                # tokenizer splits on hyphens, so the hyphenated one could never match), unless
                # it is a word of its own ("re-sign" is not "resign").
                if "-" in lemma and WORD_OK.match(lemma.replace("-", "")):
                    lemma, target = lemma.replace("-", ""), joined
                if not WORD_OK.match(lemma):
                    continue
                ptr_cnt = int(p[3])
                offs = [int(o) for o in p[6 + ptr_cnt:]]
                mask, senses = target.get(lemma, (0, []))
                target[lemma] = (mask | POS_BIT[pos], senses + [(pos, o) for o in offs])
    for lemma, v in joined.items():
        out.setdefault(lemma, v)
    return out


def read_exceptions(wn, vocab):
    out = set()
    for pos, name in POS_FILES:
        with open(os.path.join(wn, f"{name}.exc"), encoding="latin-1") as f:
            for line in f:
                p = line.split()
                if len(p) < 2 or not WORD_OK.match(p[0]):
                    continue
                for base in p[1:]:
                    if WORD_OK.match(base) and base in vocab and base != p[0]:
                        out.add((p[0], base, pos))
    return sorted(out)


def read_counts(wn):
    counts = {}
    path = os.path.join(wn, "cntlist.rev")
    if not os.path.exists(path):
        return counts
    with open(path, encoding="latin-1") as f:
        for line in f:
            p = line.split()
            if len(p) < 3:
                continue
            lemma = p[0].split("%", 1)[0].lower()
            counts[lemma] = counts.get(lemma, 0) + int(p[2])
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "data", "lexicon.bin"))
    args = ap.parse_args(argv)

    synsets, order = read_synsets(args.wordnet)
    dense = {k: i for i, k in enumerate(order)}
    index = read_index(args.wordnet)
    words = sorted(index, key=lambda w: w.encode())
    exc = read_exceptions(args.wordnet, index)
    counts = read_counts(args.wordnet)

    def cluster_heads(key):
        ss_type, _, ptrs = synsets[key]
        if ss_type != "s":
            return []
        return [t for sym, t in ptrs if sym == "&"]

    out = bytearray(b"WDLEX1\n")
    out += struct.pack("<III", len(words), len(exc), len(order))
    for w in words:
        out += w.encode() + b"\n"
    out += bytes(index[w][0] for w in words)
    for w in words:
        c = counts.get(w, 0)
        out.append(min(15, round(math.log2(1 + c))))
    total_keys = 0
    for w in words:
        keys = {}
        for sense in index[w][1]:
            if sense not in synsets:
                continue
            own = [sense] + cluster_heads(sense)
            for s in own:
                keys[dense[s]] = 0
            for sym, t in synsets[sense][2]:
                if t not in dense:
                    continue
                if sym in RELATED_PTRS or sym == PERTAINYM:
                    keys.setdefault(dense[t], 1)
                if sym == PERTAINYM:
                    for sym2, t2 in synsets[t][2]:
                        if sym2 in ("@", "@i") and t2 in dense:
                            keys.setdefault(dense[t2], 1)
        ks = sorted(2 * i + flag for i, flag in keys.items())
        total_keys += len(ks)
        varint(len(ks), out)
        prev = 0
        for k in ks:
            varint(k - prev, out)
            prev = k
    for infl, base, pos in exc:
        out += f"{infl} {base} {pos}\n".encode()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(out)
    print(f"{args.out}: {len(out)} bytes, {len(words)} lemmas, {len(exc)} exceptions, "
          f"{len(order)} synsets, {total_keys} keys", file=sys.stderr)


if __name__ == "__main__":
    main()
