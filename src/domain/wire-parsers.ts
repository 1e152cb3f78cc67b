/**
 * Gives every schema of the domain its compiled parser (fast-parsers.ts). Imported first by each entry point — the
 * SDK, the client entry, the API definition (so the server and the CLI), a worker thread — so that it runs before any
 * module compiles a parser containing a domain schema; importing the domain alone changes nothing.
 */
import { fastParsers } from "./fast-parsers.js"
import * as Domain from "./index.js"

fastParsers(Object.values(Domain))
