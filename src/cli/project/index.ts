// maintctl project: the application side (VNF managers and operators). The noun assembles its verbs.
import type { Command } from 'commander';
import type { Run } from '../main.js';
import * as agent from './agent.js';
import * as constrainGroup from './constrain-group.js';
import * as constrainInstance from './constrain-instance.js';
import * as constraints from './constraints.js';
import * as reply from './reply.js';
import * as show from './show.js';
import * as subscribe from './subscribe.js';
import * as unconstrain from './unconstrain.js';

export function register(program: Command, run: Run): void {
  const project = program.command('project').description('what applications see and answer: notifications, questions, replies');
  for (const verb of [show, reply, subscribe, agent, constraints, constrainGroup, constrainInstance, unconstrain]) verb.register(project, run);
}
