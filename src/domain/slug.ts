/** Random two-word run names ("olivine-swan"), the default for runs created without a name (spec §1.2). */
const adjectives = [
  "amber", "azure", "bold", "brave", "bright", "calm", "clever", "coral", "cosmic", "crimson", "daring", "dusky",
  "eager", "ebony", "fancy", "fearless", "gentle", "golden", "grumpy", "hasty", "icy", "ivory", "jade", "jolly",
  "keen", "lilac", "lively", "lucky", "magenta", "mellow", "misty", "nimble", "olivine", "onyx", "peach", "plucky",
  "quick", "quiet", "rapid", "russet", "sage", "scarlet", "shiny", "silver", "smart", "snowy", "sturdy", "swift",
  "tan", "teal", "tidy", "tough", "upbeat", "violet", "vivid", "warm", "wise", "witty", "xanthic", "zealous"
] as const
const animals = [
  "albatross", "antelope", "badger", "bat", "bear", "beaver", "bison", "bobcat", "buffalo", "camel", "caribou",
  "cheetah", "cobra", "condor", "coyote", "crane", "dingo", "dolphin", "eagle", "eel", "elk", "falcon", "ferret",
  "finch", "fox", "gazelle", "gecko", "gibbon", "gopher", "hare", "hawk", "heron", "ibex", "iguana", "jackal",
  "jaguar", "koala", "lemur", "lion", "llama", "lynx", "macaw", "marmot", "mink", "moose", "newt", "ocelot",
  "okapi", "orca", "otter", "owl", "panda", "parrot", "pelican", "puffin", "quail", "raven", "seal", "swan",
  "tapir", "tiger", "toucan", "turtle", "viper", "walrus", "wolf", "wombat", "yak", "zebra"
] as const

const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(Math.random() * xs.length)]!

export const randomSlug = (): string => `${pick(adjectives)}-${pick(animals)}`
