'use strict';
// Called by binding.gyp to find the system libraries. A missing library must
// stop the install with one message that names the packages to install, not
// with a compiler error three screens later.
const { execFileSync } = require('node:child_process');

const [flag, ...modules] = process.argv.slice(2);
const DEBIAN_PACKAGES = 'libnftnl-dev libmnl-dev libip4tc-dev libip6tc-dev pkg-config';

try {
  process.stdout.write(execFileSync('pkg-config', [flag, ...modules], { encoding: 'utf8' }));
} catch (err) {
  const reason = err.code === 'ENOENT' ? 'pkg-config is not installed' : `pkg-config cannot find ${modules.join(', ')}`;
  process.stderr.write(
    `\nbridgewall: ${reason}.\n` +
      `bridgewall needs the netfilter development libraries. On Debian or Ubuntu run:\n` +
      `    apt-get install ${DEBIAN_PACKAGES} iptables nftables iproute2\n\n`,
  );
  process.exit(1);
}
