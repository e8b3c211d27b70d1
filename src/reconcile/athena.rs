//! `reconcile --engine athena`: the same decision table as SQL, run by Amazon Athena over both
//! inventories (work in progress).
