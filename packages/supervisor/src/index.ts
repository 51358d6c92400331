export { Child, HealthHistory, describeExit, httpHealth, runToCompletion, type ChildSpec, type ExitStatus, type HealthCheck } from './child';
export { LinePrefixer, OutputTail, eachLine } from './output';
export { DEFAULT_RESTART_POLICY, onServiceExit, type RestartDecision, type RestartPolicy } from './restart-policy';
export { Supervisor, type ServiceSpec, type SupervisorOptions } from './supervisor';
