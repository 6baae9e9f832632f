with

source as (

    select * from {{ ref('vendors') }}

),

renamed as (

    select
        cast(vendor_id as integer) as vendor_id,
        vendor_name

    from source

)

select * from renamed
