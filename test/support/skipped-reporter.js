/**
 * A jest reporter that ends every run with the suites skipped and why (an MTA or a privilege missing), so a
 * run without the real-MTA suites is never silently green. describeRequiring() writes the reason into the
 * suite's title: "… [skipped: sendmail is not installed]".
 */
class SkippedReporter {
  onRunComplete(_contexts, results) {
    const reasons = new Map();
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status !== 'pending') continue;
        const suite = test.ancestorTitles[0] ?? test.title;
        reasons.set(suite, (reasons.get(suite) ?? 0) + 1);
      }
    }
    if (reasons.size === 0) return;
    process.stderr.write(`\nSkipped: ${[...reasons.values()].reduce((a, b) => a + b, 0)} tests in ${reasons.size} suites\n`);
    for (const [suite, count] of reasons) process.stderr.write(`  ${suite} (${count} tests)\n`);
  }
}
module.exports = SkippedReporter;
