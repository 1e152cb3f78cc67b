/** The default policies: which rules apply to flow runs and task runs, in priority order. */
import type { Policies, Policy } from "./rule.js"
import {
  CacheInsertion, CacheRetrieval, CancelRunsNotYetRunning, HandleCancellingStateTransitions, PreventRedundantTransitions,
  PreventTransitionsFromTerminalStates, ReleaseTaskConcurrencySlots, RenameReruns, RetryCrashedFlows, RetryFailedFlows, RetryFailedTasks,
  SecureTaskConcurrencySlots, WaitForScheduledTime
} from "./rules.js"
import { ExpireCacheOnLeavingTerminal, GlobalTransforms, UpdateSubflowParentTask, UpdateSubflowStateDetails } from "./transforms.js"

export const CoreTaskPolicy: Policy = {
  rules: [
    PreventTransitionsFromTerminalStates,
    HandleCancellingStateTransitions,
    WaitForScheduledTime,
    CacheRetrieval,
    SecureTaskConcurrencySlots,
    RetryFailedTasks,
    RenameReruns,
    CacheInsertion,
    ReleaseTaskConcurrencySlots
  ],
  forcedRules: [ReleaseTaskConcurrencySlots],
  transforms: [...GlobalTransforms, ExpireCacheOnLeavingTerminal]
}

export const CoreFlowPolicy: Policy = {
  rules: [
    PreventTransitionsFromTerminalStates,
    HandleCancellingStateTransitions,
    PreventRedundantTransitions,
    CancelRunsNotYetRunning,
    WaitForScheduledTime,
    RetryFailedFlows,
    RetryCrashedFlows,
    RenameReruns
  ],
  forcedRules: [],
  transforms: [...GlobalTransforms, UpdateSubflowStateDetails, UpdateSubflowParentTask]
}

export const CorePolicies: Policies = { flow_run: CoreFlowPolicy, task_run: CoreTaskPolicy }
