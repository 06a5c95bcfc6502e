/**
 * Loads the compiled addon. The raw binding is private: only the typed
 * wrappers in src/nft and src/iptc use it, and it is never exported.
 */
import path from 'node:path';
import type { NativeBridgeBinding } from './bridge';
import type { NativeFileLockBinding } from './file-lock';
import type { NativeIptcBinding } from './iptc';
import type { NativeNetnsBinding } from './netns';
import type { NativeNftBinding } from './nft';
import type { NativeSysctlBinding } from './sysctl';

export type NativeBinding = NativeNftBinding & NativeIptcBinding & NativeSysctlBinding & NativeBridgeBinding & NativeNetnsBinding &
  NativeFileLockBinding;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => unknown;

/** The package root: dist/src/native -> ../../.. */
const packageRoot = path.resolve(__dirname, '..', '..', '..');

/**
 * BRIDGEWALL_NATIVE, when set, is the path of another build of the addon to
 * load instead: `npm run test:asan` runs the tests against its sanitizer build.
 */
const override = process.env.BRIDGEWALL_NATIVE;

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const binding = (override ? require(override) : load(packageRoot)) as NativeBinding;
