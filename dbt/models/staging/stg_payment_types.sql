with

source as (

    select * from {{ ref('payment_types') }}

),

renamed as (

    select
        cast(payment_type_id as integer) as payment_type_id,
        payment_type_name

    from source

)

select * from renamed
