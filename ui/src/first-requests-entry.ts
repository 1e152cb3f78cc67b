/** A script of its own, first in `index.html`: starts the opened page's first requests while the bundle still loads. */
import { maxSummaryPage } from "virtual:orion-api"
import { startFirstRequests } from "./first-requests.js"

startFirstRequests(location.pathname, location.search, maxSummaryPage)
