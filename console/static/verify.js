// Receipt verification in the page (CONTRACT.md "The console"): a C2SP tlog-proof checked with
// WebCrypto only (SHA-256, Ed25519), no library and no server call. What is checked, in order:
// the receipt's form; the entry bytes it carries are this decision's entry; the RFC 9162
// inclusion proof leads from the entry's leaf hash to the checkpoint's root; the checkpoint is
// a signed note signed by the published log key; a kept checkpoint, when given, is signed by the
// same key and is the same tree.
"use strict";

(function () {
  const HEADER = "c2sp.org/tlog-proof@v1";
  const enc = new TextEncoder();

  class Failure extends Error {}
  function fail(message) { throw new Failure(message); }

  function b64decode(text, what) {
    let binary;
    try { binary = atob(text); } catch (e) { fail(what + " is not base64"); }
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    if (b64encode(bytes) !== text) fail(what + " is not canonical base64");
    return bytes;
  }
  function b64encode(bytes) { return btoa(String.fromCharCode(...bytes)); }
  function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function equal(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }
  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
  function decimal(text, what) {
    if (!/^(0|[1-9][0-9]*)$/.test(text) || text.length > 16) fail(what + " is not a decimal number");
    return Number(text);
  }

  function parseProof(text) {
    const cut = text.indexOf("\n\n");
    if (cut < 0) fail("the receipt has no empty line before its checkpoint");
    const lines = text.slice(0, cut).split("\n");
    if (lines[0] !== HEADER) fail("the receipt does not start with " + HEADER);
    let at = 1;
    let extra = null;
    if (lines[at] && lines[at].startsWith("extra ")) { extra = b64decode(lines[at].slice(6), "the extra line"); at++; }
    if (!lines[at] || !lines[at].startsWith("index ")) fail("the receipt has no 'index N' line");
    const index = decimal(lines[at].slice(6), "the index");
    const hashes = lines.slice(at + 1).map((line, i) => {
      const h = b64decode(line, "proof hash " + i);
      if (h.length !== 32) fail("proof hash " + i + " is not 32 bytes");
      return h;
    });
    return { index, hashes, extra, checkpoint: text.slice(cut + 2) };
  }

  // The C2SP note verifier key: <name>+<key id hex>+base64(0x01 || Ed25519 public key).
  async function parseVerifierKey(vkey) {
    // The base64 part may itself hold "+": split at the first two only.
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    const name = first > 0 ? vkey.slice(0, first) : "";
    const idHex = second > first ? vkey.slice(first + 1, second) : "";
    const keyB64 = second > first ? vkey.slice(second + 1) : "";
    if (!name || !/^[0-9a-f]{8}$/.test(idHex || "")) fail("the log key is malformed");
    const key = b64decode(keyB64 || "", "the log key");
    if (key.length !== 33 || key[0] !== 1) fail("the log key is not an Ed25519 key");
    const id = (await sha256(concat(enc.encode(name + "\n"), key))).slice(0, 4);
    if (hex(id) !== idHex) fail("the log key's id does not match its name and key");
    let publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) { fail("this browser's WebCrypto has no Ed25519 (" + e.message + ")"); }
    return { name, id, publicKey };
  }

  // A signed note: text (ending in a newline), an empty line, then "— <name> <base64>" lines.
  async function openCheckpoint(note, key, what) {
    note = note.replace(/\r\n/g, "\n");
    if (!note.endsWith("\n")) note += "\n";
    const cut = note.indexOf("\n\n");
    if (cut < 0) fail(what + " is not a signed note (no empty line before its signatures)");
    const body = note.slice(0, cut + 1);
    const signatures = note.slice(cut + 2).split("\n").filter((l) => l !== "");
    let verified = false;
    for (const line of signatures) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) fail(what + " has a malformed signature line");
      if (m[1] !== key.name) continue;
      const sig = b64decode(m[2], what + "'s signature");
      if (sig.length !== 68 || !equal(sig.slice(0, 4), key.id)) continue;
      if (await crypto.subtle.verify({ name: "Ed25519" }, key.publicKey, sig.slice(4), enc.encode(body))) {
        verified = true;
      } else {
        fail(what + "'s signature by " + key.name + " does not verify: it was forged or altered");
      }
    }
    if (!verified) fail(what + " carries no signature by the log key " + key.name);
    const lines = body.slice(0, -1).split("\n");
    if (lines.length < 3) fail(what + " is not a tlog-checkpoint");
    const size = decimal(lines[1], what + "'s tree size");
    const root = b64decode(lines[2], what + "'s root hash");
    if (root.length !== 32) fail(what + "'s root hash is not 32 bytes");
    return { origin: lines[0], size, root };
  }

  // RFC 9162 section 2.1.3.2.
  async function rootFromInclusion(index, size, leaf, proof) {
    if (index >= size) fail("index " + index + " is not below the tree size " + size);
    let fn = index, sn = size - 1, r = leaf;
    const one = Uint8Array.of(1);
    for (const p of proof) {
      if (sn === 0) fail("the inclusion proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat(one, p, r));
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        r = await sha256(concat(one, r, p));
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) fail("the inclusion proof is too short");
    return r;
  }

  async function verify(form) {
    if (!window.crypto || !crypto.subtle) fail("this page has no WebCrypto (it needs https or localhost)");
    const receipt = form.querySelector("#receipt").value.replace(/\r\n/g, "\n");
    const kept = form.querySelector("#checkpoint").value.trim();
    const key = await parseVerifierKey(form.dataset.verifierKey);
    const proof = parseProof(receipt);
    if (!proof.extra) fail("the receipt carries no entry bytes (no extra line)");
    let entry;
    try { entry = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(proof.extra)); }
    catch (e) { fail("the entry bytes in the receipt are not JSON"); }
    if (entry.index !== proof.index) fail("the entry says index " + entry.index + " but the proof is for index " + proof.index);
    const expected = form.dataset.decisionId;
    if (expected && (!entry.body || entry.body.decision_id !== expected)) fail("the receipt is for another entry, not decision " + expected);
    const checkpoint = await openCheckpoint(proof.checkpoint, key, "the receipt's checkpoint");
    const leaf = await sha256(concat(Uint8Array.of(0), proof.extra));
    const root = await rootFromInclusion(proof.index, checkpoint.size, leaf, proof.hashes);
    if (!equal(root, checkpoint.root)) fail("the inclusion proof does not lead to the checkpoint's root: the entry or the proof was altered");
    let said = "Verified: entry " + proof.index + " (SHA-256 " + hex(await sha256(proof.extra)) + ") is in the log at tree size "
      + checkpoint.size + ", root " + hex(checkpoint.root) + "; the checkpoint is signed by " + key.name + ".";
    if (kept) {
      const mine = await openCheckpoint(kept, key, "your kept checkpoint");
      if (mine.size !== checkpoint.size) fail("your kept checkpoint is for tree size " + mine.size + ", the receipt's for " + checkpoint.size + ": check consistency on the Ledger page");
      if (!equal(mine.root, checkpoint.root)) fail("your kept checkpoint has the same size but another root: the log has been rewritten");
      said += " It is the same tree as your kept checkpoint.";
    }
    return said;
  }

  function show(result, ok, text) {
    result.dataset.result = ok ? "ok" : "fail";
    result.textContent = (ok ? "" : "Failed: ") + text;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("verify");
    if (!form) return;
    const result = document.getElementById("verify-result");
    const file = document.getElementById("receipt-file");
    file.addEventListener("change", () => {
      if (!file.files.length) return;
      file.files[0].text().then((text) => { form.querySelector("#receipt").value = text; });
    });
    // The button is type="button" (without script the form sends nothing: the receipt never
    // goes into a URL), so the check runs on its click; a submit (none is expected) is stopped.
    const check = () => {
      result.dataset.result = "";
      result.textContent = "Checking…";
      verify(form).then(
        (text) => show(result, true, text),
        (error) => show(result, false, error instanceof Failure ? error.message : "unexpected error: " + error),
      );
    };
    document.getElementById("verify-button").addEventListener("click", check);
    form.addEventListener("submit", (event) => { event.preventDefault(); check(); });
  });
})();
