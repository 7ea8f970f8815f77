export {
  executionMachine,
  type ExecutionContext,
  type ExecutionEnd,
  type ExecutionEvent,
  type ExecutionInput,
  type ExecutionOutput,
} from './execution-machine.js';
export {
  supervisorMachine,
  type ExecutionActorRef,
  type SupervisorContext,
  type SupervisorEvent,
  type SupervisorInput,
} from './supervisor-machine.js';
export {
  childrenToRestart,
  treeSupervisorMachine,
  type RestartStrategy,
  type TreeSupervisorContext,
  type TreeSupervisorEvent,
  type TreeSupervisorInput,
} from './tree-supervisor-machine.js';
export { SimulatedClock } from 'xstate';
