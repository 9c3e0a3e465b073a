// Preloaded into a child CLI process (node --import): writes the process's peak RSS in KiB, worker
// threads included, to the file named by APPLE_IMPORT_TEST_PEAK_RSS when the process exits.
import { writeFileSync } from 'node:fs';

const out = process.env.APPLE_IMPORT_TEST_PEAK_RSS;
if (out) {
  process.on('exit', () => {
    try {
      writeFileSync(out, String(process.resourceUsage().maxRSS));
    } catch {
      // The measurement must never change the outcome; the test sees no figure and says so.
    }
  });
}
