// Fails with instructions when the browser the e2e tests drive is missing.
import { existsSync } from 'node:fs';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(path)) {
  console.error(`
The end-to-end tests drive Chromium at ${path}, and it is not there.
Install Debian's Chromium:

    sudo apt-get update && sudo apt-get install -y chromium

or point CHROMIUM_PATH at another Chromium or Chrome binary:

    CHROMIUM_PATH=/path/to/chrome npm test
`);
  process.exit(1);
}
