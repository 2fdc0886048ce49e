// Workflows by name; a session names its workflow (Fenix's `workflow` field).
import { InvalidInputError } from '../domain/errors.js';
import { defaultWorkflow } from './default/index.js';
import type { Workflow } from './types.js';
import { vnfWorkflow } from './vnf/index.js';

const WORKFLOWS = new Map<string, Workflow>([
  [defaultWorkflow.name, defaultWorkflow],
  [vnfWorkflow.name, vnfWorkflow],
]);

export function workflowNames(): string[] {
  return [...WORKFLOWS.keys()];
}

export function getWorkflow(name: string): Workflow {
  const workflow = WORKFLOWS.get(name);
  if (!workflow) throw new InvalidInputError(`unknown workflow "${name}": available are ${workflowNames().join(', ')}`);
  return workflow;
}
