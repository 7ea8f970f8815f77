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
export {
  compileMachine,
  MachineCompileError,
  type CompiledAction,
  type CompiledArgs,
  type CompiledMachine,
  type CompiledState,
  type CompiledTransition,
} from './compile-machine.js';
export { CompiledActor, type CompiledClock } from './compiled-actor.js';
