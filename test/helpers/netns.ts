/**
 * Throwaway network namespaces for kernel tests: src/sandbox's, each deleted
 * when its test ends (pass or fail), and, as every sandbox's, when the
 * process exits or is stopped by a signal, so nothing is left on the machine.
 */
import test, { type ExecutionContext, type Implementation } from 'ava';
import { sweepOrphans } from '../../src/sandbox/live.js';
import { Sandbox, type Namespace, type NamespaceOptions } from '../../src/sandbox/sandbox.js';
import { namespacePrivilegeProblem } from '../../src/sandbox/tools.js';

/** Why kernel tests cannot run here, or undefined when they can. */
export const kernelSkipReason = namespacePrivilegeProblem();

/**
 * Declares a test that talks to the kernel. Without privileges it is skipped
 * with the reason, except under CI=true, where it fails instead.
 */
export function kernelTest(title: string, implementation: Implementation<[]>): void {
  if (kernelSkipReason === undefined) {
    test(title, implementation);
  } else if (process.env.CI === 'true') {
    test(title, (t) => t.fail(`CI=true but kernel tests cannot run: ${kernelSkipReason}`));
  } else {
    test.skip(`${title} (skipped: ${kernelSkipReason})`, () => {});
  }
}

export type TestNetns = Namespace;

/** Test namespaces are named `bwt-PID-N-LABEL`. */
const TEST_PREFIX = 'bwt';

// The namespaces of a test process killed outright (SIGKILL), which could not delete its own.
if (kernelSkipReason === undefined) sweepOrphans(TEST_PREFIX);

/** A sandbox whose namespaces (and agents) are deleted when the test `t` finishes, pass or fail. */
export function testSandbox(t: ExecutionContext): Sandbox {
  const sandbox = new Sandbox(TEST_PREFIX);
  t.teardown(() => sandbox.remove());
  return sandbox;
}

/** Creates a namespace that is deleted when the test `t` finishes; forwarding is on unless `options` say otherwise. */
export function createNetns(t: ExecutionContext, label = 'ns', options: NamespaceOptions = {}): Promise<TestNetns> {
  return testSandbox(t).add(label, options);
}

/** `iptables-save` output without comment lines and with counters zeroed. */
export function normaliseSave(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n');
}
