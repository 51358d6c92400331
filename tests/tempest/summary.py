"""Summarises a Tempest run (subunit v2 on stdin): counts, every failure with its first
line of reason, and which failures are not in expected-failures.txt. Exit status 1 when an
unexpected failure exists, or a listed one ran and passed (so the list never goes stale)."""
import re
import sys

import subunit
import testtools


def test_name(test_id):
    return re.sub(r'\[.*\]$', '', test_id)


class Collect(testtools.StreamResult):
    def __init__(self):
        super().__init__()
        self.status_of = {}
        self.details = {}

    def status(self, test_id=None, test_status=None, file_name=None, file_bytes=None, **kwargs):
        if test_id is None:
            return
        if test_status in ('success', 'fail', 'skip', 'xfail', 'uxsuccess'):
            self.status_of[test_id] = test_status
        if file_bytes and file_name in ('traceback', 'reason'):
            self.details[test_id] = self.details.get(test_id, b'') + file_bytes


def reason_of(text):
    lines = [l for l in text.decode(errors='replace').splitlines() if l.strip()]
    for line in reversed(lines):
        if re.match(r'^[\w.]+(Error|Exception|Failure|Conflict|NotFound|BadRequest|Forbidden)\b', line) or 'Details:' in line:
            return line.strip()[:240]
    return (lines[-1].strip() if lines else '')[:240]


def expected_failures(path):
    expected = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            name, _, why = line.partition(' ')
            expected[name] = why.strip()
    return expected


def main():
    expected = expected_failures(sys.argv[1])
    result = Collect()
    subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name='stdout').run(result)
    counts = {}
    for s in result.status_of.values():
        counts[s] = counts.get(s, 0) + 1
    print('passed %d, failed %d, skipped %d (of %d)' % (
        counts.get('success', 0), counts.get('fail', 0), counts.get('skip', 0), len(result.status_of)))
    failed = sorted(t for t, s in result.status_of.items() if s == 'fail')
    unexpected = []
    for t in failed:
        name = test_name(t)
        why = expected.get(name)
        print('  FAIL %s\n       %s%s' % (name, reason_of(result.details.get(t, b'')), ('\n       expected: ' + why) if why else ''))
        if why is None:
            unexpected.append(name)
    skipped = sorted(t for t, s in result.status_of.items() if s == 'skip')
    for t in skipped:
        print('  SKIP %s: %s' % (test_name(t), result.details.get(t, b'').decode(errors='replace').strip()[:160]))
    # Listed failures that ran and passed (a run of a subset leaves the others alone).
    gone = sorted({test_name(t) for t, s in result.status_of.items() if s == 'success'} & set(expected))
    for name in gone:
        print('  PASS now (remove from expected-failures.txt): %s' % name)
    if unexpected:
        print('%d unexpected failure(s)' % len(unexpected))
    return 1 if unexpected or gone else 0


if __name__ == '__main__':
    sys.exit(main())
