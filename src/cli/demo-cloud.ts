// The built-in cloud `maintctl demo` maintains: six computes, a controller, two applications.
// Every compute runs something, so the session must first make room (PREPARE_MAINTENANCE).
export const DEMO_CLOUD = `
hosts:
  - {name: ctl-0, type: controller}
  - {name: compute-0, vcpus: 8}
  - {name: compute-1, vcpus: 8}
  - {name: compute-2, vcpus: 8}
  - {name: compute-3, vcpus: 8}
  - {name: compute-4, vcpus: 8}
  - {name: compute-5, vcpus: 8}
instances:
  - {name: web-0, project: shop, host: compute-0, vcpus: 2, floating_ip: true}
  - {name: web-1, project: shop, host: compute-1, vcpus: 2}
  - {name: web-2, project: shop, host: compute-2, vcpus: 2}
  - {name: web-3, project: shop, host: compute-3, vcpus: 2}
  - {name: db-0, project: shop, host: compute-4, vcpus: 4}
  - {name: db-1, project: shop, host: compute-5, vcpus: 4}
  - {name: vnf-0, project: telco, host: compute-0, vcpus: 2}
  - {name: vnf-1, project: telco, host: compute-1, vcpus: 2}
  - {name: vnf-2, project: telco, host: compute-2, vcpus: 4}
  - {name: vnf-3, project: telco, host: compute-3, vcpus: 4}
  - {name: vnf-4, project: telco, host: compute-4, vcpus: 2}
projects:
  - {id: shop, auto_reply: ack, action: MIGRATE, reply_delay_s: 2}
  - {id: telco, auto_reply: ack, action: LIVE_MIGRATE, reply_delay_s: 3}
timing: {migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60}
`;
