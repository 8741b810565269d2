// Runs the CLI from sources (`tsx src/cli/ostrom.ts ...`), as bin/ostrom.js does from dist/.
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
