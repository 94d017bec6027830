"""The scanning engine: finds private keys and secrets in files, product-independent.

It imports nothing of signward but `signward.errors` (tests/test_exported_members.py holds it
to that): what it needs of keys and JOSE is its own (`jose`), and whatever is policy (where a
home keeps its keys, whether a dump is released, who may read it) is the caller's.

The split of the former `signward.dumps`, by what each module is:

- engine, here: the readers of formats (`formats`: ELF cores, minidumps, compressed layers;
  `hprof`, `har` and its decoded `views`, `bundles` of several files), the chunked search
  (`chunks`, `integers`, `regions`, `scanner`, the C filters `_filters.c` behind `compiled`),
  the `detectors`, the keys a scan verifies against (`knownkeys`, `jose`), what a scan reports
  (`findings`, `coverage`), the bounded temporary storage (`scratch`, `files`), the byte-level
  redaction and minimization of what was found (`redact`, `minimize`) and the independent
  reader on standard-library readers (`recheck`, `recheck_codecs`, `recheck_numbers`,
  `recheck_zeros`).
- policy, in `signward.dumps`: `sanitize` (when a result is certified), `canary`,
  `attestation` (its key is the caller's), `pipeline`, `access` (grants), `debugstore`,
  `reasons` (the refusal vocabulary) and `sarif` (the product's report format).

Nothing is imported here: `signward.scan.scanner.scan_path` and the rest are imported from
their modules, so that a caller who needs `knownkeys` does not load numpy.
"""
