//! Which account number each tenant had when last read: the tenant record is
//! keyed by account number, a tenant id leads to it through the pointer
//! item, and remembering the way saves that read on the next request.

use portguard_validation::TenantId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Tenant id → account number, across the requests of one process.
/// Operators move a tenant to another account number rarely; a reader that
/// finds the record no longer the tenant's forgets the entry and reads the
/// pointer again. Bounded: a process serves few tenants, and forgetting
/// costs one read.
#[derive(Default)]
pub struct AccountMemory(Mutex<HashMap<TenantId, String>>);

impl AccountMemory {
    const MAX: usize = 4096;

    pub fn get(&self, tenant_id: &TenantId) -> Option<String> {
        self.0.lock().ok()?.get(tenant_id).cloned()
    }

    pub fn remember(&self, tenant_id: &TenantId, account: &str) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            map.insert(tenant_id.clone(), account.to_owned());
        }
    }

    pub fn forget(&self, tenant_id: &TenantId) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(tenant_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let memory = AccountMemory::default();
        let t: TenantId = "t_1".parse().unwrap();
        assert_eq!(memory.get(&t), None);
        memory.remember(&t, "ACCT-1");
        assert_eq!(memory.get(&t).as_deref(), Some("ACCT-1"));
        memory.forget(&t);
        assert_eq!(memory.get(&t), None);
        for i in 0..=AccountMemory::MAX {
            memory.remember(&format!("t_{i}").parse().unwrap(), "A");
        }
        assert!(memory.0.lock().unwrap().len() <= AccountMemory::MAX);
    }
}
